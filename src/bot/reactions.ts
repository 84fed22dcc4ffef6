/** Reaction keys, as clients send them. */

/** Reaction keys that acknowledge, without the variation selectors clients add (U+FE0F / U+FE0E). */
export const ACK_REACTIONS = new Set(['✅', '👀']);
export const normaliseKey = (key: string) => key.replace(/[\uFE0E\uFE0F]/g, '');
