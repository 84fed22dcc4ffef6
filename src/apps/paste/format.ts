import { formatDuration } from '../../core/duration.ts';

export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** "never", or how long from now ("in 2h"). */
export function expiresText(expiresAt: Date | null, now: Date): string {
  if (!expiresAt) return 'never';
  return `in ${formatDuration(Math.max(0, (expiresAt.getTime() - now.getTime()) / 1000))}`;
}
