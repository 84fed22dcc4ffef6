/** The expiry watch's schedule: a warning a minute before, then every session expired, then the connection. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test, vi } from 'vitest';
import { EXPIRY_WARNING_MS, watchExpiry } from '../src/ssh/expiry.ts';

describe('watchExpiry', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2026-11-30T20:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  test('warns a minute before, expires every open session at the time, then reports the closing', async () => {
    const events: string[] = [];
    const expiresAt = new Date('2026-11-30T20:10:00Z');
    const watch = watchExpiry({
      expiresAt,
      credentialName: 'linked key',
      now: () => new Date(),
      onExpired: (reason, closing) => void closing.then(() => events.push(`closed: ${reason}`)),
    });
    const session = (name: string) => ({
      warn: (text: string) => events.push(`${name} warned: ${text}`),
      expire: async (reason: string) => void events.push(`${name} expired: ${reason}`),
    });
    watch.add(session('a'));
    const removeB = watch.add(session('b'));
    await vi.advanceTimersByTimeAsync(10 * 60_000 - EXPIRY_WARNING_MS - 1000);
    assert.deepEqual(events, [], 'nothing before the warning minute');
    removeB();
    await vi.advanceTimersByTimeAsync(1000);
    assert.deepEqual(events, ['a warned: your linked key expires at 20:10:00 UTC: this session closes then']);
    watch.add(session('c'));
    assert.equal(
      events[1],
      'c warned: your linked key expires at 20:10:00 UTC: this session closes then',
      'a session opened in the last minute is warned at once',
    );
    await vi.advanceTimersByTimeAsync(EXPIRY_WARNING_MS);
    const reason = 'your linked key expired at 2026-11-30 20:10:00 UTC: session closed; log in again with a fresh one';
    assert.deepEqual(events.slice(2), [`a expired: ${reason}`, `c expired: ${reason}`, `closed: ${reason}`]);
  });

  test('a credential valid for weeks is waited for in steps (no timer overflow), and cancel stops it', async () => {
    let expired = false;
    const watch = watchExpiry({
      expiresAt: new Date('2027-01-30T20:00:00Z'),
      credentialName: 'certificate',
      now: () => new Date(),
      onExpired: () => (expired = true),
    });
    await vi.advanceTimersByTimeAsync(30 * 86_400_000);
    assert.equal(expired, false);
    watch.cancel();
    await vi.advanceTimersByTimeAsync(40 * 86_400_000);
    assert.equal(expired, false);
  });

  test('a renewed credential is followed: no warning or close at the old time, both at the new one', async () => {
    const events: string[] = [];
    let current = new Date('2026-11-30T20:10:00Z');
    const watch = watchExpiry({
      expiresAt: current,
      credentialName: 'linked key',
      now: () => new Date(),
      renewed: () => current,
      onExpired: (reason) => void events.push(`closed: ${reason}`),
    });
    watch.add({ warn: (text) => events.push(`warned: ${text}`), expire: async (reason) => void events.push(`expired: ${reason}`) });
    // Renewed before the warning minute: nothing happens at the old times.
    current = new Date('2026-11-30T20:30:00Z');
    await vi.advanceTimersByTimeAsync(11 * 60_000);
    assert.deepEqual(events, ['warned: your linked key was renewed: this session lasts until 20:30:00 UTC']);
    await vi.advanceTimersByTimeAsync(20 * 60_000);
    assert.deepEqual(events.slice(1), [
      'warned: your linked key expires at 20:30:00 UTC: this session closes then',
      'expired: your linked key expired at 2026-11-30 20:30:00 UTC: session closed; log in again with a fresh one',
      'closed: your linked key expired at 2026-11-30 20:30:00 UTC: session closed; log in again with a fresh one',
    ]);
  });

  test('end closes every session at once with its reason, and no timer fires after', async () => {
    const events: string[] = [];
    const watch = watchExpiry({ expiresAt: undefined, credentialName: 'certificate', now: () => new Date(), onExpired: () => events.push('expired') });
    watch.add({ warn: () => events.push('warned'), expire: async (reason) => void events.push(reason) });
    await watch.end('the CA was removed');
    assert.deepEqual(events, ['the CA was removed']);
    await vi.advanceTimersByTimeAsync(365 * 86_400_000);
    assert.deepEqual(events, ['the CA was removed']);
  });
});
