import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { labdCommand, ROOT, run } from './support/labd.ts';

test('defaults are the embedded ones', () => {
  const c = loadConfig({});
  assert.equal(c.dataDir, './data');
  assert.equal(c.ssh.listen, '127.0.0.1:2222');
  assert.equal(c.http.listen, '127.0.0.1:8080');
  assert.equal(c.auth.defaultRole, 'member');
});

test('environment overrides the file, the file overrides defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-cfg-'));
  const file = join(dir, 'labd.yaml');
  writeFileSync(file, 'dataDir: /srv/labd\nssh:\n  listen: 0.0.0.0:22\nauth:\n  principalRoles:\n    admins: admin\n');
  const c = loadConfig({ LABD_CONFIG: file, LABD_SSH_LISTEN: '127.0.0.1:2200', LABD_REVOKED_SERIALS: '7, 9', LABD_CERT_SIGNUP: 'false' });
  assert.equal(c.dataDir, '/srv/labd');
  assert.equal(c.ssh.listen, '127.0.0.1:2200');
  assert.deepEqual(c.auth.principalRoles, { admins: 'admin' });
  assert.deepEqual(c.auth.revokedSerials, ['7', '9']);
  assert.equal(c.auth.certificateSignup, false);
  assert.equal(c.auth.signup, 'sso');
  assert.equal(loadConfig({ LABD_SIGNUP: 'invite' }).auth.signup, 'invite');
  assert.throws(() => loadConfig({ LABD_SIGNUP: 'everyone' }), /LABD_SIGNUP|auth\.signup/);
});

test('every invalid value is one line in one format: key, variable, what is expected, what was given, an example', () => {
  const line = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail(`${JSON.stringify(env)} was accepted`);
  };
  // Each was its own wording before: zod's bare 'Invalid input', 'Too small: expected number to be >=1', no key for numbers.
  assert.equal(
    line({ LABD_PASTE_DEFAULT_EXPIRY: '7days' }),
    "config: paste.defaultExpiry (LABD_PASTE_DEFAULT_EXPIRY): expected none or a duration like 30s, 15m, 2h or 7d, got '7days'",
  );
  assert.equal(line({ LABD_SSH_HOME_REFRESH: '5' }), "config: ssh.homeRefresh (LABD_SSH_HOME_REFRESH): expected a duration like 30s, 15m, 2h or 7d, got '5'");
  assert.equal(line({ LABD_SSH_MAX_AUTH_TRIES: '0' }), "config: ssh.maxAuthTries (LABD_SSH_MAX_AUTH_TRIES): expected at least 1, got '0' (e.g. 6)");
  assert.equal(line({ LABD_PASTE_MAX_SIZE: 'big' }), "config: paste.maxSize (LABD_PASTE_MAX_SIZE): expected a whole number, got 'big' (e.g. 10485760)");
  assert.equal(line({ LABD_SIGNUP: 'whatever' }), "config: auth.signup (LABD_SIGNUP): expected one of closed, invite, sso, open, got 'whatever'");
  assert.match(line({ LABD_PRINCIPAL_ROLES: 'admins' }), /^config: auth\.principalRoles \(LABD_PRINCIPAL_ROLES\): expected NAME=VALUE pairs .*, got 'admins'$/);
  // A secret is never echoed.
  assert.doesNotMatch(line({ LABD_ALERTMANAGER_URL: 'http://am:9093', LABD_WEBHOOK_TOKEN: 'hunter2' }), /hunter2/);
  // Control characters in a value are not echoed to the terminal.
  assert.doesNotMatch(line({ LABD_SIGNUP: 'x\x1b[2Jy' }), /\x1b/);
});

test('a bad value is one line naming the key and what is wrong', () => {
  assert.throws(
    () => loadConfig({ LABD_SSH_LISTEN: 'nonsense' }),
    (err: Error) =>
      err instanceof ConfigError && /^config: ssh\.listen \(LABD_SSH_LISTEN\): expected HOST:PORT/.test(err.message) && !err.message.includes('\n'),
  );
  assert.throws(() => loadConfig({ LABD_DEFAULT_ROLE: 'emperor' }), /auth\.defaultRole \(LABD_DEFAULT_ROLE\)/);
  assert.throws(
    () => loadConfig({ LABD_CERT_SIGNUP: 'perhaps' }),
    /auth\.certificateSignup \(LABD_CERT_SIGNUP\): expected true or false, got 'perhaps' \(e\.g\. true\)/,
  );
  assert.throws(() => loadConfig({ LABD_PUBLIC_URL: 'ftp://x' }), /publicUrl \(LABD_PUBLIC_URL\)/);
  // Node runs a timer longer than 24.8 days after 1 ms: a home refresh of 30d would redraw without pause.
  assert.throws(() => loadConfig({ LABD_SSH_HOME_REFRESH: '30d' }), /ssh\.homeRefresh \(LABD_SSH_HOME_REFRESH\): at most 1h/);
  assert.equal(loadConfig({ LABD_SSH_HOME_REFRESH: '1h' }).ssh.homeRefresh.ms, 3_600_000);
  // Every duration that times a timer stops at 24 days, for the same reason.
  for (const [variable, key] of [
    ['LABD_SSH_AUTH_TIMEOUT', 'ssh.authTimeout'],
    ['LABD_KUBE_TIMEOUT', 'kube.requestTimeout'],
    ['LABD_NODES_JOIN_POLL', 'nodes.joinPollInterval'],
    ['LABD_NODES_EVICT_RETRY', 'nodes.evictRetryInterval'],
    ['LABD_STEPCA_REFRESH', 'auth.stepCa.refresh'],
    ['LABD_GIT_MIRROR_INTERVAL', 'git.mirrorInterval'],
    ['LABD_GIT_IDLE_TIMEOUT', 'git.idleTimeout'],
    ['LABD_HIGHLIGHT_TIMEOUT', 'highlight.timeout'],
    ['LABD_PASTE_SWEEP_INTERVAL', 'paste.sweepInterval'],
    ['LABD_CRM_REMINDER_CHECK_INTERVAL', 'crm.reminderCheckInterval'],
  ]) {
    assert.throws(() => loadConfig({ [variable!]: '25d' }), new RegExp(`${key!.replace(/\./g, '\\.')} \\(${variable}\\): at most 24d`));
    assert.doesNotThrow(() => loadConfig({ [variable!]: '24d' }), variable);
  }
  const alertmanager = { LABD_ALERTMANAGER_URL: 'http://127.0.0.1:9093', LABD_ALERTMANAGER_WEBHOOK_TOKEN: 'a-token-of-16-chars-or-more' };
  assert.throws(
    () => loadConfig({ ...alertmanager, LABD_ALERTMANAGER_POLL_INTERVAL: '4w' }),
    /alertmanager\.pollInterval \(LABD_ALERTMANAGER_POLL_INTERVAL\): at most 24d/,
  );
  assert.equal(loadConfig({ ...alertmanager, LABD_ALERTMANAGER_POLL_INTERVAL: '3w' }).alertmanager.enabled, true);
});

test('unknown keys in the file are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-cfg-'));
  const file = join(dir, 'labd.yaml');
  writeFileSync(file, 'ssh:\n  listne: 127.0.0.1:22\n');
  assert.throws(() => loadConfig({ LABD_CONFIG: file }), /config: ssh: unknown key 'listne'/);
  writeFileSync(file, 'ssh: [1, 2\n');
  assert.throws(() => loadConfig({ LABD_CONFIG: file }), /not valid YAML/);
  assert.throws(() => loadConfig({ LABD_CONFIG: join(dir, 'missing.yaml') }), /cannot read/);
});

test('labd serve with a bad value stops with one line and exit 2', () => {
  const r = run(process.execPath, labdCommand(['serve']), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, LABD_HTTP_LISTEN: 'localhost:99999' },
  });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^labd: config: http\.listen \(LABD_HTTP_LISTEN\): port must be 0-65535, got 'localhost:99999' \(e\.g\. 127\.0\.0\.1:8080\)\n$/);
});

describe('durations are parsed once, by the schema', () => {
  test('defaults and set values come out as seconds and milliseconds with the text as written', () => {
    const config = loadConfig({ LABD_SSH_AUTH_TIMEOUT: '1m30s', LABD_PASTE_DEFAULT_EXPIRY: '7d' });
    assert.deepEqual(config.ssh.authTimeout, { seconds: 90, ms: 90_000, text: '1m30s' });
    assert.deepEqual(config.paste.defaultExpiry, { seconds: 7 * 86400, ms: 7 * 86400_000, text: '7d' });
    assert.equal(config.paste.sweepInterval.ms, 600_000);
    assert.equal(config.auth.clockSkew.seconds, 60);
    assert.equal(config.nodes.tokenTtl.seconds, 86400);
    assert.equal(config.kube.requestTimeout.ms, 10_000);
    assert.equal(loadConfig({}).paste.defaultExpiry, 'none');
  });

  test('a bad duration is one line naming the key and its variable', () => {
    for (const [name, value, key] of [
      ['LABD_SSH_AUTH_TIMEOUT', 'soon', 'ssh.authTimeout'],
      ['LABD_NODES_JOIN_POLL', '0s', 'nodes.joinPollInterval'],
      ['LABD_KUBE_TIMEOUT', '10', 'kube.requestTimeout'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: Error) =>
          err instanceof ConfigError &&
          !err.message.includes('\n') &&
          err.message.startsWith(`config: ${key} (${name}): `) &&
          /expected a duration|longer than 0s/.test(err.message),
        `${name}=${value}`,
      );
    }
  });
});

test('OIDC logins are off by default, on with any LABD_OIDC_* key, and a half-configured one fails at start', () => {
  assert.equal(loadConfig({}).auth.oidc.enabled, false);
  const c = loadConfig({ LABD_OIDC_ISSUER: 'https://sso.example.net/realms/lab', LABD_OIDC_CLIENT_ID: 'labd', LABD_OIDC_GROUP_ROLES: 'lab-admins=admin' });
  assert.ok(c.auth.oidc.enabled);
  assert.equal(c.auth.oidc.keyLifetime.seconds, 16 * 3600);
  assert.deepEqual(c.auth.oidc.scopes, ['openid', 'email', 'profile']);
  assert.deepEqual(c.auth.oidc.groupRoles, { 'lab-admins': 'admin' });
  assert.equal(c.auth.oidc.allowHttp, false);
  assert.throws(() => loadConfig({ LABD_OIDC_ISSUER: 'https://sso.example.net' }), /auth\.oidc\.clientId/);
  assert.throws(() => loadConfig({ LABD_OIDC_CLIENT_ID: 'labd', LABD_OIDC_ISSUER: 'ftp://x' }), /auth\.oidc\.issuer \(LABD_OIDC_ISSUER\)/);
  assert.throws(
    () => loadConfig({ LABD_OIDC_CLIENT_ID: 'labd', LABD_OIDC_ISSUER: 'https://x', LABD_OIDC_MAX_FLOWS_PER_SOURCE: '0' }),
    /auth\.oidc\.maxFlowsPerSource \(LABD_OIDC_MAX_FLOWS_PER_SOURCE\)/,
  );
  assert.throws(() => loadConfig({ LABD_OIDC_CLIENT_ID: 'labd', LABD_OIDC_ISSUER: 'https://x', LABD_OIDC_SCOPES: 'openid,"bad"' }), /scope token/);
});

test('auth.stepCa: an https URL with a root to pin; the fingerprint as step prints it, colons and case allowed; refresh defaults to 1h', () => {
  const fp = 'AB:'.repeat(31) + 'AB';
  const c = loadConfig({ LABD_STEPCA_URL: 'https://ca.example.net', LABD_STEPCA_ROOT_FINGERPRINT: fp, LABD_STEPCA_REFRESH: '15m' });
  assert.equal(c.auth.stepCa.rootFingerprint, 'ab'.repeat(32));
  assert.equal(c.auth.stepCa.refresh.ms, 15 * 60_000);
  assert.equal(loadConfig({}).auth.stepCa.refresh.ms, 3_600_000);
  assert.equal(loadConfig({}).auth.stepCa.url, undefined);
  assert.throws(
    () => loadConfig({ LABD_STEPCA_URL: 'http://ca.example.net', LABD_STEPCA_ROOT: '/x' }),
    /auth\.stepCa\.url \(LABD_STEPCA_URL\): expected the https URL/,
  );
  assert.throws(
    () => loadConfig({ LABD_STEPCA_URL: 'https://ca.example.net' }),
    /auth\.stepCa\.url \(LABD_STEPCA_URL\): .*needs auth\.stepCa\.rootFingerprint/,
  );
  assert.throws(
    () => loadConfig({ LABD_STEPCA_URL: 'https://ca.example.net', LABD_STEPCA_ROOT_FINGERPRINT: 'abc' }),
    /auth\.stepCa\.rootFingerprint \(LABD_STEPCA_ROOT_FINGERPRINT\): expected the SHA-256 fingerprint/,
  );
});
