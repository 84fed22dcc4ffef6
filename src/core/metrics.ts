import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CommandObserver } from '../ops/registry.ts';

/** The Prometheus metrics labd exposes on /metrics. */
export class Metrics implements CommandObserver {
  readonly registry = new Registry();
  readonly sessionsActive = new Gauge({
    name: 'labd_ssh_sessions_active',
    help: 'SSH sessions (channels) open now',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly connectionsActive = new Gauge({ name: 'labd_ssh_connections_active', help: 'SSH connections open now', registers: [this.registry] });
  readonly preauthRejected = new Counter({
    name: 'labd_ssh_preauth_rejected_total',
    help: 'SSH connections closed at accept, before the handshake: too many unauthenticated connections in total or from one source',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly preauthTimeouts = new Counter({
    name: 'labd_ssh_preauth_timeouts_total',
    help: 'SSH connections closed because they did not authenticate within ssh.authTimeout of accept',
    registers: [this.registry],
  });
  readonly preauthConnections = new Gauge({
    name: 'labd_ssh_preauth_connections',
    help: 'SSH connections accepted and not yet authenticated',
    registers: [this.registry],
  });
  readonly unackedLimitLifted = new Counter({
    name: 'labd_ssh_unacked_limit_lifted_total',
    help: 'Channels to OpenSSH clients that waited over a second for a window adjust and got the whole window back (src/ssh/flow-control.ts)',
    registers: [this.registry],
  });
  readonly flowViolations = new Counter({
    name: 'labd_ssh_flow_violations_total',
    help: 'SSH connections closed for sending channel data beyond the window labd advertised',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly authAttempts = new Counter({
    name: 'labd_auth_attempts_total',
    help: 'SSH authentication attempts by method and result',
    labelNames: ['method', 'result'] as const,
    registers: [this.registry],
  });
  readonly commandDuration = new Histogram({
    name: 'labd_command_duration_seconds',
    help: 'Command run time by command, surface and outcome',
    labelNames: ['command', 'surface', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  constructor() {
    // Includes labd_process_resident_memory_bytes and labd_nodejs_eventloop_lag_seconds (and its percentiles).
    collectDefaultMetrics({ register: this.registry, prefix: 'labd_' });
  }

  /**
   * A gauge read at scrape time from `read` (the database, the backend status): no bookkeeping to
   * drift. A failing read leaves the gauge out of that scrape rather than failing /metrics.
   */
  gaugeFrom<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => { labels?: Partial<Record<L, string>>; value: number }[] | Promise<{ labels?: Partial<Record<L, string>>; value: number }[]>,
  ): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        let samples: { labels?: Partial<Record<L, string>>; value: number }[];
        try {
          samples = await read();
        } catch {
          return;
        }
        for (const s of samples) this.set((s.labels ?? {}) as never, s.value);
      },
    });
  }

  commandFinished(name: string, surface: string, outcome: string, seconds: number): void {
    this.commandDuration.observe({ command: name, surface, outcome }, seconds);
  }
}
