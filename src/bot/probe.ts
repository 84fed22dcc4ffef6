/**
 * Whether the homeserver is there and still takes the bot's token: `GET /account/whoami`, the
 * cheapest authenticated call (the bot's own sync loop proves nothing while it waits in a long
 * poll, and its failures are retried silently). Feeds the backend status: the TUI home strip and
 * `labd_backend_up{backend="matrix"}`.
 */
import type { MatrixConfig } from '../config/schema.ts';
import { readBodyLimited } from '../core/response-body.ts';

export function matrixProbe(config: Pick<MatrixConfig, 'homeserverUrl' | 'accessToken'>) {
  return async (signal: AbortSignal): Promise<void> => {
    const url = new URL('/_matrix/client/v3/account/whoami', config.homeserverUrl);
    const res = await fetch(url, { headers: { authorization: `Bearer ${config.accessToken}` }, signal });
    if (res.ok) {
      await res.body?.cancel();
      return;
    }
    // The error code says what to fix (M_UNKNOWN_TOKEN: the token was revoked); the body is bounded.
    let code = '';
    try {
      code = String((JSON.parse((await readBodyLimited(res, 64 * 1024, 'the whoami answer')).toString('utf8')) as { errcode?: unknown }).errcode ?? '');
    } catch {
      // not JSON, or too large: the status says enough
    }
    throw new Error(`homeserver answered ${res.status}${code ? ` ${code.slice(0, 60)}` : ''}`);
  };
}
