/**
 * The Apprise API adapter: POST {url} with {"title","body","type"} (the notify endpoint of
 * apprise-api, e.g. http://apprise:8000/notify/KEY, which sends to the URLs saved under KEY).
 */
import { networkErrorText } from '../../core/network-errors.ts';

export interface AppriseNotification {
  title: string;
  body: string;
  type: 'info' | 'success' | 'warning' | 'failure';
  /** apprise-api sends only to the key's URLs carrying this tag (e.g. one user's own services). */
  tag?: string;
}

export class AppriseClient {
  constructor(
    readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves when Apprise accepted the notification; throws an Error with one line otherwise. */
  async notify(n: AppriseNotification, signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(n),
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      });
      text = await res.text();
    } catch (err) {
      if (timeout.aborted) throw new Error(`Apprise at ${this.url} did not answer within ${this.timeoutMs / 1000}s`);
      const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string };
      throw new Error(
        `cannot reach Apprise at ${this.url}: ${networkErrorText(e.cause?.code ?? e.code) ?? String(e.cause?.message ?? e.message).slice(0, 160)}`,
      );
    }
    // apprise-api answers 424 when some of the key's services failed, 204 when the key has no URLs.
    if (res.ok && res.status !== 204) return;
    throw new Error(`Apprise at ${this.url} answered ${res.status}: ${text.replace(/\s+/g, ' ').trim().slice(0, 200) || 'no detail'}`);
  }
}
