/**
 * Watches for provisioned nodes to join: polls the cluster (only while some node is pending) and, when the
 * Node object appears, applies the role label and the Kilo location annotation and marks it joined.
 */
import type { Logger } from '../../core/logger.ts';
import type { OpsEventsPort } from '../events/index.ts';
import type { KubePort } from '../kube/index.ts';
import { KILO_LOCATION } from './format.ts';
import type { InventoryRow, NodeInventory } from './inventory.ts';

export const ROLE_LABEL_PREFIX = 'node-role.kubernetes.io/';

export function joinPatch(row: Pick<InventoryRow, 'role' | 'location'>): { labels?: Record<string, string>; annotations?: Record<string, string> } {
  return {
    ...(row.role ? { labels: { [ROLE_LABEL_PREFIX + row.role]: '' } } : {}),
    ...(row.location ? { annotations: { [KILO_LOCATION]: row.location } } : {}),
  };
}

export class JoinWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly kube: KubePort,
    private readonly inventory: NodeInventory,
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly events: Pick<OpsEventsPort, 'emit'>,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick().finally(() => this.schedule()), this.intervalMs);
    this.timer.unref();
  }

  /** One pass; errors are logged and the next pass tries again. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const pending = await this.inventory.pending();
      if (!pending.length) return;
      const present = new Set((await this.kube.listNodes()).map((n) => n.name));
      for (const row of pending) {
        if (!present.has(row.name) || this.stopped) continue;
        const patch = joinPatch(row);
        if (patch.labels || patch.annotations) await this.kube.patchNode(row.name, patch);
        await this.inventory.markJoined(row.id);
        this.log.info({ node: row.name, role: row.role, location: row.location }, 'provisioned node joined');
        await this.events.emit({ kind: 'node.joined', node: row.name, role: row.role, location: row.location });
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'checking for joined nodes failed');
    } finally {
      this.running = false;
    }
  }
}
