/**
 * pixiecore API mode (research/k8s_ops.md §3): `GET /v1/boot/<mac>` answers 200 JSON {kernel, initrd, cmdline}
 * for a provisioned node that has not joined, else 404 (pixiecore then ignores the machine). Read from
 * SQLite only: pixiecore gives up after 5 s and asks several times per boot.
 */
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../core/logger.ts';
import type { HttpRoute, RouteResponse } from '../http.ts';
import type { InventoryRow, NodeInventory } from './inventory.ts';
import { joinToken } from './tokens.ts';

export type BootProfile = Config['nodes']['profiles'][string];

export interface BootAnswer {
  kernel: string;
  initrd: string[];
  cmdline: string;
}

/** aa:bb:cc:dd:ee:ff in any case, with colons or dashes → lower-case with colons; undefined when not a MAC. */
export function normalizeMac(text: string): string | undefined {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text.trim());
  return m ? m.slice(1).join(':').toLowerCase() : undefined;
}

/** Fills {hostname}, {token}, {server} and {mac}; other braces (pixiecore's {{ URL … }}) stay as written. */
export function renderCmdline(template: string, values: { hostname: string; token: string; server: string; mac: string }): string {
  return template.replace(/\{(hostname|token|server|mac)\}/g, (_, key: keyof typeof values) => values[key]);
}

export function bootAnswer(profile: BootProfile, node: InventoryRow, server: string): BootAnswer {
  const token = node.tokenSecret ? joinToken({ id: node.tokenId, secret: node.tokenSecret }) : '';
  return { kernel: profile.kernel, initrd: profile.initrd, cmdline: renderCmdline(profile.cmdline, { hostname: node.name, token, server, mac: node.mac }) };
}

function json(status: number, body: unknown): RouteResponse {
  return { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify(body) };
}

/** Transport only: the MAC from the path, status codes; the answer comes from the inventory. */
export function bootRoute(inventory: NodeInventory, config: Config['nodes'], log: Logger): HttpRoute {
  return {
    method: 'GET',
    path: '/v1/boot/:mac',
    handle(req) {
      const mac = normalizeMac(req.params.mac ?? '');
      if (!mac) return json(400, { error: 'expected a MAC address like aa:bb:cc:dd:ee:ff' });
      const node = inventory.bootable(mac);
      if (!node) return json(404, { error: 'unknown MAC' });
      const profile = config.profiles[node.profile];
      if (!profile) {
        // The profile was removed from config after provisioning: boot nothing rather than something wrong.
        log.warn({ node: node.name, profile: node.profile }, 'boot request for a node whose profile is no longer configured');
        return json(404, { error: `boot profile ${node.profile} is not configured` });
      }
      log.info({ node: node.name, mac }, 'pixiecore boot request answered');
      return json(200, bootAnswer(profile, node, config.server ?? ''));
    },
  };
}
