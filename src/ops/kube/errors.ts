/** Maps what client-node throws (ApiException with a JSON Status string body, fetch errors, aborts) to typed errors. */
import { networkErrorText } from '../../core/network-errors.ts';
import { Conflict, Failed, NotFound, PermissionDenied, Unavailable, UsageError, type LabdError } from '../../core/errors.ts';

/** A PodDisruptionBudget forbids the eviction right now (HTTP 429); retry later. */
export class EvictionBlocked extends Conflict {}

interface StatusBody {
  message?: string;
  reason?: string;
}

/** client-node's ApiException: `code` is the HTTP status, `body` the raw response text. */
function apiStatus(err: unknown): { code: number; status: StatusBody } | undefined {
  if (!err || typeof err !== 'object' || typeof (err as { code?: unknown }).code !== 'number') return undefined;
  const { code, body } = err as { code: number; body?: unknown };
  let status: StatusBody = {};
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body) as StatusBody;
    } catch {
      status = { message: body.slice(0, 200) };
    }
  } else if (body && typeof body === 'object') status = body as StatusBody;
  return { code, status };
}

/**
 * `what` names the request for messages ("node laptop1"); `target` the cluster;
 * `timedOut` tells an abort by our own time-out from other failures.
 */
export function mapKubeError(err: unknown, what: string, target: string, timeoutSeconds: number, timedOut: boolean): LabdError {
  if (timedOut) return new Unavailable(`the Kubernetes API at ${target} did not answer within ${timeoutSeconds}s (${what})`, { cause: err });
  const api = apiStatus(err);
  if (api) {
    const detail = api.status.message ?? api.status.reason ?? `HTTP ${api.code}`;
    switch (true) {
      case api.code === 404:
        return new NotFound(`${what}: not found`, { cause: err });
      case api.code === 409:
        return new Conflict(`${what}: ${detail}`, { cause: err });
      case api.code === 429:
        return new Unavailable(`${what}: the API server asked to retry later (${detail})`, { cause: err });
      case api.code === 401:
        return new Unavailable(`the Kubernetes API at ${target} refused labd's credentials (${detail})`, { cause: err });
      case api.code === 403:
        return new PermissionDenied(`labd's Kubernetes account may not do this: ${detail}`, { cause: err });
      case api.code === 400 || api.code === 422:
        return new UsageError(`${what}: ${detail}`, { cause: err });
      case api.code >= 500:
        return new Unavailable(`the Kubernetes API at ${target} failed (${api.code}): ${detail}`, { cause: err });
      default:
        return new Failed(`${what}: ${detail}`, { cause: err });
    }
  }
  const e = err as { code?: string; errno?: string; name?: string; message?: string; cause?: { code?: string } } | undefined;
  const code = e?.code ?? e?.errno ?? e?.cause?.code;
  const network = networkErrorText(code);
  if (network) return new Unavailable(`cannot reach the Kubernetes API at ${target}: ${network}`, { cause: err });
  if (e?.name === 'AbortError') return new Unavailable(`request to the Kubernetes API at ${target} was interrupted (${what})`, { cause: err });
  if (e?.name === 'FetchError' || e?.name === 'TypeError')
    return new Unavailable(`cannot reach the Kubernetes API at ${target}: ${String(e.message ?? '').slice(0, 160)}`, { cause: err });
  return new Failed(`${what}: ${String(e?.message ?? err).slice(0, 200)}`, { cause: err });
}
