/**
 * Debian's real Alertmanager (`prometheus-alertmanager`) on free loopback ports, its webhook
 * receiver pointed at labd's /hooks/alertmanager with a bearer token, short group timers,
 * clustering off, a throw-away storage dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort, LabdProcess, type LabdOptions } from './labd.ts';

export interface AlertmanagerOptions {
  /** Where the webhook goes, e.g. http://127.0.0.1:PORT/hooks/alertmanager. */
  webhookUrl: string;
  /** More webhooks of the same receiver (every labd replica is notified: Alertmanager HA's effect). */
  moreWebhookUrls?: string[];
  token: string;
  /** Use this port (when labd had to be told the URL before Alertmanager started). */
  port?: number;
}

export interface PostedAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
}

export class AlertmanagerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly port: number,
    readonly logs: () => string,
    private readonly exited: Promise<void>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static config(o: AlertmanagerOptions): string {
    return [
      'route:',
      '  receiver: labd',
      "  group_by: ['alertname', 'cluster']",
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: labd',
      '    webhook_configs:',
      ...[o.webhookUrl, ...(o.moreWebhookUrls ?? [])].flatMap((url) => [
        `      - url: ${JSON.stringify(url)}`,
        '        send_resolved: true',
        '        http_config:',
        '          authorization:',
        `            credentials: ${JSON.stringify(o.token)}`,
      ]),
      '',
    ].join('\n');
  }

  static async start(o: AlertmanagerOptions): Promise<AlertmanagerProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'labd-am-'));
    const port = o.port ?? (await freePort());
    writeFileSync(join(dir, 'am.yml'), AlertmanagerProcess.config(o));
    const child = spawn(
      'prometheus-alertmanager',
      [
        `--config.file=${join(dir, 'am.yml')}`,
        `--storage.path=${dir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=debug',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    const am = new AlertmanagerProcess(child, dir, port, () => out, exited);
    const deadline = Date.now() + 30000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`alertmanager exited during start:\n${out}`);
      try {
        if ((await fetch(`${am.url}/-/ready`)).status === 200) break;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`alertmanager did not become ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return am;
  }

  /** Sends alerts as Prometheus would (POST /api/v2/alerts). */
  async post(alerts: PostedAlert[]): Promise<void> {
    const res = await fetch(`${this.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
    if (res.status !== 200) throw new Error(`POST /api/v2/alerts: ${res.status} ${await res.text()}`);
  }

  async get(path: string): Promise<unknown> {
    const res = await fetch(this.url + path);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 8000);
      await this.exited;
      clearTimeout(timer);
    }
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What the alert lab needs of a started labd (LabdProcess or InProcessLabd). */
export interface StartedLabd {
  readonly httpPort: number;
  stop(): Promise<void>;
}

/** labd and a real Alertmanager that know each other: its URL and token in labd's env, its webhook at labd. */
export interface AlertLab<L extends StartedLabd = LabdProcess> {
  labd: L;
  am: AlertmanagerProcess;
  token: string;
  /** Stops both and removes Alertmanager's storage. */
  stop(): Promise<void>;
}

/**
 * Starts labd (with `o`, plus LABD_ALERTMANAGER_URL and LABD_WEBHOOK_TOKEN) and then Alertmanager on
 * the port labd was told, its webhook receiver pointed at labd's /hooks/alertmanager.
 */
export async function startAlertLab(o?: LabdOptions): Promise<AlertLab>;
/** The same with labd started by `start` (e.g. InProcessLabd.start). */
export async function startAlertLab<L extends StartedLabd>(o: LabdOptions, start: (o: LabdOptions) => Promise<L>): Promise<AlertLab<L>>;
export async function startAlertLab(
  o: LabdOptions = {},
  start: (o: LabdOptions) => Promise<StartedLabd> = (x) => LabdProcess.start(x),
): Promise<AlertLab<StartedLabd>> {
  const token = randomBytes(24).toString('hex');
  const port = await freePort();
  const labd = await start({ ...o, env: { LABD_ALERTMANAGER_URL: `http://127.0.0.1:${port}`, LABD_WEBHOOK_TOKEN: token, ...o.env } });
  let am: AlertmanagerProcess;
  try {
    am = await AlertmanagerProcess.start({ webhookUrl: `http://127.0.0.1:${labd.httpPort}/hooks/alertmanager`, token, port });
  } catch (err) {
    await labd.stop();
    throw err;
  }
  return {
    labd,
    am,
    token,
    async stop() {
      await am.stop();
      am.cleanup();
      await labd.stop();
    },
  };
}
