/**
 * labd's NATS connections (pub/sub across replicas, the change feed): how to connect (servers,
 * credentials from the URL or a .creds file, TLS, endless reconnects), the URL as it may be logged,
 * and the connection's state for /readyz.
 */
import { readFileSync } from 'node:fs';
import { credsAuthenticator, type connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../core/logger.ts';

/** How labd reaches NATS (config `nats`). */
export interface NatsSettings {
  /** nats://[user:pass@]host:4222 or tls://…, several comma separated. */
  url: string;
  /** A .creds file (user JWT and nkey seed). */
  creds?: string;
  tls?: { ca?: string; cert?: string; key?: string };
}

/** The URL as it may be logged: without credentials. */
export function redactNatsUrl(url: string): string {
  return url
    .split(',')
    .map((u) => u.replace(/\/\/[^@/]*@/, '//'))
    .join(',');
}

/** How labd connects to NATS (servers, credentials from the URL or a .creds file, TLS, endless reconnects): for pub/sub and the change feed alike. */
export function natsConnectionOptions(s: NatsSettings, name: string): Parameters<typeof connect>[0] {
  let user: string | undefined;
  let pass: string | undefined;
  let token: string | undefined;
  const servers = s.url.split(',').map((u) => {
    const parsed = new URL(u);
    if (parsed.username) {
      if (parsed.password) {
        user = decodeURIComponent(parsed.username);
        pass = decodeURIComponent(parsed.password);
      } else token = decodeURIComponent(parsed.username);
    }
    return `${parsed.protocol}//${parsed.host}`;
  });
  const tlsFiles = s.tls && (s.tls.ca || s.tls.cert || s.tls.key);
  const wantsTls = servers.some((u) => u.startsWith('tls://'));
  return {
    servers,
    name,
    user,
    pass,
    token,
    // Messages from this replica do not come back to it: its own readers are served in process.
    noEcho: true,
    timeout: 5000,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    ...(s.creds ? { authenticator: credsAuthenticator(readFileSync(s.creds)) } : {}),
    ...(tlsFiles || wantsTls ? { tls: { caFile: s.tls?.ca, certFile: s.tls?.cert, keyFile: s.tls?.key } } : {}),
  };
}

/**
 * A NATS connection's state for /readyz, from the client's status events: connected or why not.
 * `onBack` runs after a reconnect (what this replica and the others may have missed is sent again).
 */
export class NatsConnectionWatch {
  connected = true;
  lastError: string | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly where: string,
    private readonly log: Logger,
    private readonly what: string,
    private readonly onBack: () => void,
  ) {
    void this.run();
  }

  private async run(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        this.lastError = `disconnected from ${this.where}`;
        this.log.warn({ nats: this.where }, `${this.what}: NATS connection lost; reconnecting`);
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.lastError = undefined;
        this.log.info({ nats: this.where }, `${this.what}: NATS connection back`);
        this.onBack();
      } else if (s.type === 'error') {
        this.lastError = String((s as { error?: unknown }).error ?? 'error');
      }
    }
  }

  /** ok while connected; else why not. */
  status(connectedDetail: string): { ok: boolean; detail: string } {
    if (this.connected && !this.nc.isClosed()) return { ok: true, detail: connectedDetail };
    return { ok: false, detail: this.lastError ?? `not connected to ${this.where}` };
  }
}
