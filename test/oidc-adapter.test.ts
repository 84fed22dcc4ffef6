/**
 * The OIDC adapter bounds what comes from the network: an oversized IdP answer is refused (not
 * buffered), and a code's lifetime is capped by auth.oidc.maxCodeLifetime whatever expires_in says.
 * Against a hostile HTTP server in this process and the real oidc-provider.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll as after, describe, test } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import type { OidcConfig } from '../src/config/schema.ts';
import type { Logger } from '../src/core/logger.ts';
import { DeviceFlowError, OpenIdClientOidc } from '../src/ops/oidc/index.ts';
import { TestOidcProvider } from './support/oidc-provider.ts';

function oidcConfig(issuer: string, extra: Record<string, string> = {}): OidcConfig {
  const config = loadConfig({ LABD_OIDC_ISSUER: issuer, LABD_OIDC_CLIENT_ID: 'labd-test', LABD_OIDC_ALLOW_HTTP: 'true', ...extra });
  assert.ok(config.auth.oidc.enabled);
  return config.auth.oidc;
}

function recordingLogger(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const log = { warn: (fields: { err?: string }, msg: string) => warnings.push(`${msg}: ${fields.err ?? ''}`), info() {}, error() {}, debug() {} };
  return { log: log as unknown as Logger, warnings };
}

describe('OIDC adapter bounds', () => {
  const servers: Server[] = [];
  let op: TestOidcProvider | undefined;
  after(async () => {
    for (const s of servers) (s.closeAllConnections(), s.close());
    await op?.stop();
  });

  test('an oversized discovery document is refused, and the login says the IdP is unavailable', async () => {
    let sent = 0;
    const server = createServer((_req, res) => {
      // 8 MiB of JSON whitespace, streamed without a content-length.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const write = () => {
        while (sent < 8 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', write);
        }
        res.end('{}');
      };
      write();
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { log, warnings } = recordingLogger();
    const port = new OpenIdClientOidc(oidcConfig(issuer), log);
    await assert.rejects(port.startDeviceFlow(new AbortController().signal), (err: unknown) => err instanceof DeviceFlowError && err.reason === 'unavailable');
    assert.match(warnings.join('\n'), /too large/);
    assert.ok(sent < 8 * 1024 * 1024, 'labd stopped reading long before the end');
  });

  test("a code's lifetime is capped by maxCodeLifetime, whatever the IdP's expires_in", async () => {
    op = await TestOidcProvider.start({ accounts: {}, deviceCodeTtl: 86_400 });
    const { log } = recordingLogger();
    const port = new OpenIdClientOidc(oidcConfig(op.issuer, { LABD_OIDC_MAX_CODE_LIFETIME: '1m' }), log);
    const flow = await port.startDeviceFlow(new AbortController().signal);
    assert.ok(flow.authorization.expiresAt.getTime() <= Date.now() + 60_000);
    const abort = new AbortController();
    const waiting = flow.wait(abort.signal);
    abort.abort();
    await assert.rejects(waiting, (err: unknown) => err instanceof DeviceFlowError && err.reason === 'aborted');
  });
});
