/** Maps what fetch and Alertmanager answer to typed errors, with one clear line each. */
import { networkErrorText } from '../../core/network-errors.ts';
import { Failed, NotFound, Unavailable, UsageError, type LabdError } from '../../core/errors.ts';

/** A failure before any HTTP answer: network, our time-out, or the caller's abort. */
export function mapTransportError(err: unknown, target: string, what: string, timeoutSeconds: number, timedOut: boolean): LabdError {
  if (timedOut) return new Unavailable(`Alertmanager at ${target} did not answer within ${timeoutSeconds}s (${what})`, { cause: err });
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } } | undefined;
  if (e?.name === 'AbortError') return new Unavailable(`request to Alertmanager at ${target} was interrupted (${what})`, { cause: err });
  const code = e?.cause?.code ?? e?.code;
  const network = networkErrorText(code);
  if (network) return new Unavailable(`cannot reach Alertmanager at ${target}: ${network} (${what})`, { cause: err });
  const detail = String(e?.cause?.message ?? e?.message ?? err).slice(0, 160);
  return new Unavailable(`cannot reach Alertmanager at ${target}: ${detail} (${what})`, { cause: err });
}

/** A non-2xx answer. Alertmanager answers errors as a JSON string or plain text. */
export function mapHttpError(status: number, body: string, target: string, what: string): LabdError {
  let detail = body.trim();
  try {
    const parsed: unknown = JSON.parse(detail);
    if (typeof parsed === 'string') detail = parsed;
    else if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string')
      detail = (parsed as { message: string }).message;
  } catch {
    /* plain text */
  }
  detail = detail.replace(/\s+/g, ' ').slice(0, 200) || `HTTP ${status}`;
  if (status === 404) return new NotFound(`${what}: Alertmanager does not know it (${detail})`);
  if (status === 400 || status === 422) return new UsageError(`${what}: Alertmanager refused it: ${detail}`);
  if (status === 401 || status === 403) return new Unavailable(`Alertmanager at ${target} refused labd (${status}: ${detail})`);
  if (status === 429 || status >= 500) return new Unavailable(`Alertmanager at ${target} failed (${status}): ${detail} (${what})`);
  return new Failed(`${what}: Alertmanager answered ${status}: ${detail}`);
}
