/**
 * The OIDC adapter: the only code that imports openid-client. Discovery happens on first use (and
 * again after a failure), so labd starts while the IdP is down. Everything from the network is
 * bounded: each response body (RESPONSE_LIMIT), each request (REQUEST_TIMEOUT_S), the wait for one
 * code (its expires_in, capped by maxCodeLifetime), and the claims labd keeps.
 */
import type { Configuration, CustomFetchOptions, DeviceAuthorizationResponse } from 'openid-client';
import type { OidcConfig } from '../../config/schema.ts';
import { systemClock, type Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { DeviceFlowError, type DeviceFlow, type OidcClaims, type OidcPort } from './port.ts';
import { readBodyLimited } from '../../core/response-body.ts';

/** Discovery documents, device codes, token responses and JWKS are a few KiB. */
const RESPONSE_LIMIT = 64 * 1024;
const REQUEST_TIMEOUT_S = 15;
const MAX_GROUPS = 100;
const MAX_CLAIM_CHARS = 256;
const PRINTABLE_URL = /^https?:\/\/[\x21-\x7e]+$/;

/** fetch with a cap on the body: a larger answer is an error, not memory. */
async function boundedFetch(url: string, options: CustomFetchOptions): Promise<Response> {
  const res = await fetch(url, options as RequestInit);
  const read = await readBodyLimited(res, RESPONSE_LIMIT, "the identity provider's answer");
  const body = [204, 205, 304].includes(res.status) ? null : new Uint8Array(read);
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/** An error and its causes in one line (openid-client wraps what went wrong, e.g. "something went wrong" around our size limit). */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) parts.push(e.message);
  return parts.join(': ') || String(err);
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_CLAIM_CHARS ? v : undefined;
}

/** The claims labd uses, bounded; a missing or oversized `sub` is no identity. */
export function claimsFrom(issuer: string, raw: Record<string, unknown>): OidcClaims {
  const sub = text(raw.sub);
  if (!sub) throw new DeviceFlowError('unavailable', 'the ID token has no usable subject (sub)');
  const groups = Array.isArray(raw.groups) ? raw.groups.filter((g): g is string => text(g) !== undefined).slice(0, MAX_GROUPS) : [];
  return {
    issuer,
    sub,
    email: text(raw.email),
    emailVerified: raw.email_verified === true,
    preferredUsername: text(raw.preferred_username),
    groups,
  };
}

/** openid-client (with jose and oauth4webapi) loads on the first login, not at start: most labs never configure OIDC, and those that do rarely log in. */
let loaded: Promise<typeof import('openid-client')> | undefined;
const openidClient = () => (loaded ??= import('openid-client'));

export class OpenIdClientOidc implements OidcPort {
  readonly issuer: string;
  private discovered: Promise<Configuration> | undefined;

  constructor(
    private readonly config: OidcConfig,
    private readonly log: Logger,
    /** Dates a login's expiry (`expiresAt`). */
    private readonly clock: Clock = systemClock,
  ) {
    this.issuer = config.issuer;
  }

  private configuration(): Promise<Configuration> {
    this.discovered ??= openidClient()
      .then((client) =>
        client.discovery(
          new URL(this.config.issuer),
          this.config.clientId,
          this.config.clientSecret,
          this.config.clientSecret ? client.ClientSecretPost(this.config.clientSecret) : client.None(),
          {
            execute: this.config.allowHttp ? [client.allowInsecureRequests] : [],
            [client.customFetch]: boundedFetch,
            timeout: REQUEST_TIMEOUT_S,
          },
        ),
      )
      .catch((err: unknown) => {
        this.discovered = undefined;
        throw err;
      });
    return this.discovered;
  }

  async startDeviceFlow(signal: AbortSignal): Promise<DeviceFlow> {
    const client = await openidClient();
    let config: Configuration;
    let response: DeviceAuthorizationResponse;
    try {
      config = await this.configuration();
      signal.throwIfAborted();
      response = await client.initiateDeviceAuthorization(config, { scope: this.config.scopes.join(' ') });
    } catch (err) {
      if (signal.aborted) throw new DeviceFlowError('aborted', 'the login was abandoned');
      this.log.warn({ err: describe(err), issuer: this.issuer }, 'OIDC device authorization failed');
      throw new DeviceFlowError('unavailable', 'the identity provider could not start a login; try again later');
    }
    const userCode = text(response.user_code);
    const verificationUri = text(response.verification_uri);
    // Shown on the person's terminal: printable ASCII only.
    if (!userCode || !/^[\x21-\x7e]+$/.test(userCode) || !verificationUri || !PRINTABLE_URL.test(verificationUri))
      throw new DeviceFlowError('unavailable', 'the identity provider answered without a usable code or verification URL');
    const complete = text(response.verification_uri_complete);
    const lifetimeS = Math.min(Math.max(Number(response.expires_in) || 0, 1), this.config.maxCodeLifetime.seconds);
    const expiresAt = new Date(this.clock.now().getTime() + lifetimeS * 1000);
    const log = this.log;
    const issuer = this.issuer;
    return {
      authorization: { userCode, verificationUri, verificationUriComplete: complete && PRINTABLE_URL.test(complete) ? complete : undefined, expiresAt },
      async wait(outer: AbortSignal): Promise<OidcClaims> {
        const expiry = AbortSignal.timeout(lifetimeS * 1000);
        const polling = AbortSignal.any([outer, expiry]);
        try {
          const tokens = await client.pollDeviceAuthorizationGrant(config, { ...response, expires_in: lifetimeS }, undefined, { signal: polling });
          const claims = tokens.claims();
          if (!claims) throw new DeviceFlowError('unavailable', 'the identity provider sent no ID token (is the openid scope configured?)');
          return claimsFrom(issuer, claims as Record<string, unknown>);
        } catch (err) {
          if (err instanceof DeviceFlowError) throw err;
          if (outer.aborted) throw new DeviceFlowError('aborted', 'the login was abandoned');
          const code = err instanceof client.ResponseBodyError ? err.error : undefined;
          if (code === 'access_denied') throw new DeviceFlowError('denied', 'the login was denied at the identity provider');
          if (code === 'expired_token' || expiry.aborted)
            throw new DeviceFlowError('expired', 'the code expired before the login was confirmed; connect again for a new one');
          log.warn({ err: describe(err), issuer }, 'OIDC device flow failed');
          throw new DeviceFlowError('unavailable', `the identity provider refused the login${code ? ` (${code.slice(0, 40)})` : ''}`);
        }
      },
    };
  }
}
