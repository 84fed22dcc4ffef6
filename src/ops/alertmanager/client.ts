/**
 * The Alertmanager API v2 client: the only code that talks to Alertmanager.
 * Plain fetch (Node 20 has it, with AbortSignal.timeout/any): the four calls labd makes do not
 * justify a generated OpenAPI client and its dependencies.
 */
import { z } from 'zod';
import { Failed, NotFound } from '../../core/errors.ts';
import { mapHttpError, mapTransportError } from './errors.ts';
import type { AlertQuery, AlertmanagerPort, AmAlert, AmSilence, NewSilence } from './port.ts';

const labelSet = z.record(z.string(), z.string());
const matcher = z.object({ name: z.string(), value: z.string(), isRegex: z.boolean(), isEqual: z.boolean().default(true) });

const gettableAlert = z.object({
  fingerprint: z.string(),
  labels: labelSet,
  annotations: labelSet.default({}),
  startsAt: z.string(),
  endsAt: z.string().default(''),
  receivers: z.array(z.object({ name: z.string() })).default([]),
  status: z.object({ state: z.string(), silencedBy: z.array(z.string()).default([]) }),
});

const gettableSilence = z.object({
  id: z.string(),
  matchers: z.array(matcher),
  startsAt: z.string(),
  endsAt: z.string(),
  createdBy: z.string(),
  comment: z.string(),
  status: z.object({ state: z.string() }),
});

export class AlertmanagerClient implements AlertmanagerPort {
  readonly target: string;
  private readonly base: string;

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    this.base = url.replace(/\/+$/, '');
    this.target = this.base;
  }

  async listAlerts(query: AlertQuery = {}, signal?: AbortSignal): Promise<AmAlert[]> {
    const params = new URLSearchParams();
    for (const f of query.filter ?? []) params.append('filter', f);
    for (const key of ['active', 'silenced', 'inhibited', 'unprocessed'] as const) {
      if (query[key] !== undefined) params.set(key, String(query[key]));
    }
    const body = await this.request('GET', `/api/v2/alerts?${params}`, 'listing alerts', undefined, signal);
    return this.parse(z.array(gettableAlert), body, 'listing alerts').map((a) => ({
      fingerprint: a.fingerprint,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      state: a.status.state,
      silencedBy: a.status.silencedBy,
      receivers: a.receivers.map((r) => r.name),
    }));
  }

  async listSilences(filter: string[] = [], signal?: AbortSignal): Promise<AmSilence[]> {
    const params = new URLSearchParams();
    for (const f of filter) params.append('filter', f);
    const body = await this.request('GET', `/api/v2/silences?${params}`, 'listing silences', undefined, signal);
    return this.parse(z.array(gettableSilence), body, 'listing silences').map((s) => ({
      id: s.id,
      matchers: s.matchers,
      startsAt: s.startsAt,
      endsAt: s.endsAt,
      createdBy: s.createdBy,
      comment: s.comment,
      state: s.status.state,
    }));
  }

  async getSilence(id: string, signal?: AbortSignal): Promise<AmSilence> {
    const body = await this.request('GET', `/api/v2/silence/${encodeURIComponent(id)}`, `reading silence ${id}`, undefined, signal);
    const s = this.parse(gettableSilence, body, `reading silence ${id}`);
    return { id: s.id, matchers: s.matchers, startsAt: s.startsAt, endsAt: s.endsAt, createdBy: s.createdBy, comment: s.comment, state: s.status.state };
  }

  async createSilence(silence: NewSilence, signal?: AbortSignal): Promise<string> {
    const payload = {
      ...(silence.id ? { id: silence.id } : {}),
      matchers: silence.matchers,
      startsAt: silence.startsAt.toISOString(),
      endsAt: silence.endsAt.toISOString(),
      createdBy: silence.createdBy,
      comment: silence.comment,
    };
    const body = await this.request('POST', '/api/v2/silences', 'creating a silence', payload, signal);
    return this.parse(z.object({ silenceID: z.string().min(1) }), body, 'creating a silence').silenceID;
  }

  async expireSilence(id: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.request('DELETE', `/api/v2/silence/${encodeURIComponent(id)}`, `expiring silence ${id}`, undefined, signal);
      return true;
    } catch (err) {
      if (err instanceof NotFound) return false;
      throw err;
    }
  }

  private async request(method: string, path: string, what: string, json: unknown, signal?: AbortSignal): Promise<string> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: json === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: combined,
      });
      text = await res.text();
    } catch (err) {
      throw mapTransportError(err, this.target, what, this.timeoutMs / 1000, timeout.aborted);
    }
    if (res.status < 200 || res.status > 299) throw mapHttpError(res.status, text, this.target, what);
    return text;
  }

  private parse<T>(schema: z.ZodType<T>, text: string, what: string): T {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new Failed(`${what}: Alertmanager at ${this.target} answered something that is not JSON`);
    }
    const result = schema.safeParse(value);
    if (!result.success)
      throw new Failed(
        `${what}: unexpected answer from Alertmanager at ${this.target} (${result.error.issues[0]?.path.join('.')}: ${result.error.issues[0]?.message})`,
      );
    return result.data;
  }
}
