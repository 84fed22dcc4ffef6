/**
 * "Did you mean …?" for a mistyped command: the known names within a small edit distance of what was
 * typed (Damerau-Levenshtein with adjacent transpositions, so `lsit` finds `list`), closest only.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++)
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/** The edit distance when `name` is a plausible mistyping of `typed` (1-2 edits, fewer than a third of it), else undefined. */
export function nearMiss(typed: string, name: string): number | undefined {
  if (typed.length > 64 || Math.abs(name.length - typed.length) > 2) return undefined;
  const distance = editDistance(typed, name);
  return distance > 0 && distance <= 2 && distance < Math.max(2, Math.ceil(typed.length / 3) + 1) ? distance : undefined;
}

/** Up to `max` names among the pairs' that are nearest misses of what was typed for them ('repo ls', not also 'repo log'). */
export function closest(pairs: Iterable<{ typed: string; name: string }>, max = 3): string[] {
  const scored: { name: string; distance: number }[] = [];
  for (const { typed, name } of pairs) {
    const distance = nearMiss(typed, name);
    if (distance !== undefined) scored.push({ name, distance });
  }
  const best = Math.min(...scored.map((s) => s.distance));
  return [...new Set(scored.filter((s) => s.distance === best).map((s) => s.name))].sort().slice(0, max);
}

/** `closest` for one typed word against a list of names. */
export function suggestions(typed: string, known: Iterable<string>, max = 3): string[] {
  return closest(
    [...known].map((name) => ({ typed, name })),
    max,
  );
}
