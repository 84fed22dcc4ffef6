/**
 * The key a name sorts and is looked up by: lower case with accents removed ("Émile" sorts with
 * "emile", between "Ema" and "Emma"; SQLite's NOCASE folds ASCII only and put it after "Zoë").
 * Stored beside the name and compared as bytes, so it must never change for a given name: the
 * SQL function of the same name (registered by src/db/client.ts) backfills stored keys with it.
 */
export function sortKey(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '')
    .toLowerCase()
    .normalize('NFC');
}

/** The smallest string above every string that starts with `prefix`, for `key >= prefix and key < end`. */
export function prefixEnd(prefix: string): string {
  return `${prefix}\u{10FFFF}`;
}
