/**
 * A real OpenID Provider for tests: oidc-provider 9 in this process, with the OAuth 2.0 Device
 * Authorization Grant on and its development login/consent pages, which `approve` and `deny` drive
 * over HTTP exactly as a person's browser would (device page → code → confirm → login → consent).
 * Accounts are given up front: their `sub` is the login name typed on the login page.
 *
 * Standalone: `node --import tsx test/support/oidc-provider.ts` starts one and prints its issuer,
 * the client id and how to approve a code (`curl` is not needed: type `approve CODE SUB` or
 * `deny CODE` on stdin).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import Provider from 'oidc-provider';

export interface TestAccount {
  email?: string;
  email_verified?: boolean;
  preferred_username?: string;
  groups?: string[];
}

export interface TestOidcProviderOptions {
  accounts: Record<string, TestAccount>;
  /** Seconds a device code lives (oidc-provider's ttl.DeviceCode; default 600). */
  deviceCodeTtl?: number;
  /**
   * Seconds a client is asked to wait between two polls of the token endpoint: the device authorization
   * response's `interval` (RFC 8628 §3.2), which oidc-provider leaves out (clients then wait 5 s). Default 1,
   * as an IdP may set it (Keycloak's "polling interval", for one); a confirmed code is then seen within a second.
   */
  pollInterval?: number;
  port?: number;
}

export const TEST_CLIENT_ID = 'labd-test';

/** A tiny cookie jar: oidc-provider's session and interaction cookies, path-scoped as it sets them. */
class CookieJar {
  private readonly cookies = new Map<string, { value: string; path: string }>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expired = attrs.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()) || value === '';
      if (expired) this.cookies.delete(`${name};${path}`);
      else this.cookies.set(`${name};${path}`, { value, path });
    }
  }

  header(url: URL): string {
    return [...this.cookies.entries()]
      .filter(([, c]) => url.pathname.startsWith(c.path))
      .map(([k, c]) => `${k.split(';')[0]}=${c.value}`)
      .join('; ');
  }
}

export class TestOidcProvider {
  private constructor(
    private readonly server: Server,
    readonly issuer: string,
  ) {}

  readonly clientId = TEST_CLIENT_ID;

  /** The environment that points labd at this provider (plain HTTP on loopback), plus `extra`. */
  labdEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      LABD_OIDC_ISSUER: this.issuer,
      LABD_OIDC_CLIENT_ID: this.clientId,
      LABD_OIDC_ALLOW_HTTP: 'true',
      LABD_OIDC_SCOPES: 'openid,email,profile,groups',
      ...extra,
    };
  }

  static async start(opts: TestOidcProviderOptions): Promise<TestOidcProvider> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: TEST_CLIENT_ID,
          grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: 'none',
          application_type: 'native',
        },
      ],
      features: { deviceFlow: { enabled: true }, devInteractions: { enabled: true } },
      scopes: ['openid', 'email', 'profile', 'groups'],
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username'], groups: ['groups'] },
      // Without this the device flow's ID token carries only sub (scope claims would go to UserInfo).
      conformIdTokenClaims: false,
      async findAccount(_ctx, sub) {
        const account = opts.accounts[sub];
        if (!account) return undefined;
        return { accountId: sub, claims: async () => ({ sub, ...account }) };
      },
      ttl: { DeviceCode: opts.deviceCodeTtl ?? 600 },
      cookies: { keys: ['labd-test-cookie-key'] },
    });
    provider.on('server_error', (_ctx: unknown, err: Error) => console.error('oidc-provider server_error', err));
    // A post-middleware (oidc-provider's extension point) adds `interval` to a successful device authorization response.
    const interval = opts.pollInterval ?? 1;
    provider.use(async (ctx, next) => {
      await next();
      const body: unknown = ctx.body;
      if (ctx.method === 'POST' && ctx.path === '/device/auth' && ctx.status === 200 && body && typeof body === 'object' && 'device_code' in body)
        (body as { interval?: number }).interval = interval;
    });
    server.on('request', provider.callback());
    return new TestOidcProvider(server, issuer);
  }

  private async request(jar: CookieJar, path: string, form?: Record<string, string>): Promise<{ status: number; location?: string; body: string }> {
    const url = new URL(path, this.issuer);
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: jar.header(url), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    jar.store(res);
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, location: location ? new URL(location, url).pathname + new URL(location, url).search : undefined, body: await res.text() };
  }

  private static xsrf(body: string): string {
    const m = /name="xsrf" value="([^"]+)"/.exec(body);
    if (!m) throw new Error(`no xsrf field on the page:\n${body.slice(0, 2000)}`);
    return m[1]!;
  }

  /** Types the code on the device page and lands on its confirmation form; returns the jar and the xsrf token. */
  private async enterCode(userCode: string): Promise<{ jar: CookieJar; xsrf: string }> {
    const jar = new CookieJar();
    const input = await this.request(jar, '/device');
    const confirm = await this.request(jar, '/device', { xsrf: TestOidcProvider.xsrf(input.body), user_code: userCode });
    if (!confirm.body.includes('op.deviceConfirmForm')) throw new Error(`the provider did not accept the code ${userCode}:\n${confirm.body.slice(0, 2000)}`);
    return { jar, xsrf: TestOidcProvider.xsrf(confirm.body) };
  }

  /** A person approves `userCode` and logs in as `sub` (login page, then consent), as in a browser. */
  async approve(userCode: string, sub: string): Promise<void> {
    const { jar, xsrf } = await this.enterCode(userCode);
    let step = await this.request(jar, '/device', { xsrf, user_code: userCode, confirm: 'yes' });
    for (let hops = 0; hops < 20; hops++) {
      if (step.status === 200) {
        if (/Sign-in Success/i.test(step.body)) return;
        throw new Error(`unexpected page while approving:\n${step.body.slice(0, 2000)}`);
      }
      if (step.status !== 303 && step.status !== 302) throw new Error(`unexpected status ${step.status} while approving:\n${step.body.slice(0, 2000)}`);
      const location = step.location!;
      if (location.startsWith('/interaction/')) {
        const page = await this.request(jar, location);
        const prompt = /name="prompt" value="(\w+)"/.exec(page.body)?.[1];
        if (prompt === 'login') step = await this.request(jar, location, { prompt: 'login', login: sub, password: 'any' });
        else if (prompt === 'consent') step = await this.request(jar, location, { prompt: 'consent' });
        else throw new Error(`unexpected interaction page:\n${page.body.slice(0, 2000)}`);
      } else step = await this.request(jar, location);
    }
    throw new Error('too many redirects while approving');
  }

  /** A person looks at the code's confirmation page and cancels: the client's poll gets access_denied. */
  async deny(userCode: string): Promise<void> {
    const { jar, xsrf } = await this.enterCode(userCode);
    const res = await this.request(jar, '/device', { xsrf, user_code: userCode, abort: 'yes' });
    if (res.status >= 400) throw new Error(`deny failed with ${res.status}:\n${res.body.slice(0, 2000)}`);
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const op = await TestOidcProvider.start({
    accounts: { alice: { email: 'alice@example.net', email_verified: true, preferred_username: 'alice', groups: ['lab-admins'] } },
    port: Number(process.argv[2] ?? 0),
  });
  console.log(`OpenID Provider at ${op.issuer} (device flow on), client id ${op.clientId} (public client), account: alice (groups lab-admins)`);
  console.log(
    `labd: ${Object.entries(op.labdEnv())
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  console.log('stdin: "approve CODE SUB" or "deny CODE"; Ctrl-D stops');
  for await (const line of createInterface({ input: process.stdin })) {
    const [verb, code, sub] = line.trim().split(/\s+/);
    try {
      if (verb === 'approve' && code && sub) await op.approve(code, sub);
      else if (verb === 'deny' && code) await op.deny(code);
      else throw new Error('expected: approve CODE SUB | deny CODE');
      console.log('ok');
    } catch (err) {
      console.log(`failed: ${(err as Error).message}`);
    }
  }
  await op.stop();
}
