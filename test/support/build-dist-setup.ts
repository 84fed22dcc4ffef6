/**
 * vitest's global setup: dist/ up to date before any worker starts a labd from it (test/support/labd.ts,
 * labdCommand), so workers never rebuild it under each other.
 */
import { labdCommand } from './labd.ts';

export default function setup(): void {
  labdCommand([]);
}
