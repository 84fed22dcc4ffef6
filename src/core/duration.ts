import { UsageError } from './errors.ts';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Parses "90s", "15m", "2h", "7d", "1h30m" into seconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = text.trim();
  if (!/^(\d+[smhdw])+$/.test(trimmed)) {
    throw new UsageError(`${what}: expected a duration like 30s, 15m, 2h or 7d, got '${trimmed.slice(0, 40)}'`);
  }
  let total = 0;
  for (const m of trimmed.matchAll(/(\d+)([smhdw])/g)) {
    total += Number(m[1]) * (UNIT_SECONDS[m[2]!] ?? 0);
  }
  if (!Number.isSafeInteger(total) || total <= 0) throw new UsageError(`${what}: must be positive`);
  return total;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60) || ''}${seconds % 3600 >= 60 ? 'm' : ''}`;
  return `${Math.floor(seconds / 86400)}d`;
}
