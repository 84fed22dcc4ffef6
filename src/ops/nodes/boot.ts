/**
 * pixiecore API mode (research/k8s_ops.md §3): `GET /v1/boot/<mac>` answers 200 JSON {kernel, initrd, cmdline}
 * for a provisioned node that has not joined, else 404 (pixiecore then ignores the machine). Read from
 * SQLite only: pixiecore gives up after 5 s and asks several times per boot.
 */
import { BlockList, isIPv4 } from 'node:net';
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

function json(status: number, body: unknown, headers: Record<string, string> = {}): RouteResponse {
  return { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }, body: JSON.stringify(body) };
}

/** Counts unknown-MAC answers per source address in one-minute windows, so MACs cannot be guessed at speed. */
export class UnknownMacLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  /** Sources tracked at once; past it the oldest windows go (a flood of sources cannot grow this map). */
  private static readonly MAX_SOURCES = 10_000;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  /** Whether `source` used up its unknown-MAC answers for this minute (then it gets no answer at all, not even for a known MAC). */
  exhausted(source: string): boolean {
    const w = this.windows.get(source);
    return w !== undefined && this.now() - w.start < 60_000 && w.count >= this.perMinute;
  }

  /** Counts one unknown-MAC answer to `source`. */
  count(source: string): void {
    const t = this.now();
    let w = this.windows.get(source);
    if (!w || t - w.start >= 60_000) {
      this.windows.delete(source);
      if (this.windows.size >= UnknownMacLimiter.MAX_SOURCES) this.windows.delete(this.windows.keys().next().value!);
      w = { start: t, count: 0 };
      this.windows.set(source, w);
    }
    w.count++;
  }
}

/** Source CIDRs as a BlockList; an empty list allows every source. */
export function sourceFilter(cidrs: readonly string[]): (ip: string) => boolean {
  if (!cidrs.length) return () => true;
  const blocks = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/') as [string, string];
    blocks.addSubnet(addr, Number(bits), isIPv4(addr) ? 'ipv4' : 'ipv6');
  }
  return (ip) => {
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
    const addr = v4 ?? ip;
    return blocks.check(addr, isIPv4(addr) ? 'ipv4' : 'ipv6');
  };
}

/**
 * The boot API's only route. It is mounted on labd's boot listener (nodes.bootListen) and nowhere else:
 * the answer carries a join token. Every answer is logged with its source address. Transport only:
 * the MAC from the path and status codes; the answer comes from the inventory.
 */
export function bootRoute(inventory: NodeInventory, config: Config['nodes'], log: Logger, now: () => number = Date.now): HttpRoute {
  const allowed = sourceFilter(config.bootAllow);
  const limiter = new UnknownMacLimiter(config.bootUnknownPerMinute, now);
  return {
    method: 'GET',
    path: '/v1/boot/:mac',
    listener: 'boot',
    async handle(req) {
      const remote = req.remoteAddress;
      if (!allowed(remote)) {
        log.warn({ remote, status: 403 }, 'boot request from a source outside nodes.bootAllow refused');
        return json(403, { error: 'source not allowed' });
      }
      // A source past its unknown-MAC budget gets 429 for every MAC: a 200 among 429s would still tell a guess that hit.
      if (limiter.exhausted(remote)) {
        log.warn({ remote, status: 429 }, 'boot request refused: too many unknown MACs from this source');
        return json(429, { error: 'too many unknown MACs; try again later' }, { 'retry-after': '60' });
      }
      const mac = normalizeMac(req.params.mac ?? '');
      const node = mac ? await inventory.bootable(mac) : undefined;
      if (!node) {
        limiter.count(remote);
        if (!mac) {
          log.info({ remote, status: 400 }, 'boot request with a malformed MAC');
          return json(400, { error: 'expected a MAC address like aa:bb:cc:dd:ee:ff' });
        }
        log.info({ remote, mac, status: 404 }, 'boot request for an unknown MAC');
        return json(404, { error: 'unknown MAC' });
      }
      const profile = Object.hasOwn(config.profiles, node.profile) ? config.profiles[node.profile] : undefined;
      if (!profile) {
        // The profile was removed from config after provisioning: boot nothing rather than something wrong.
        log.warn({ node: node.name, profile: node.profile, remote, status: 404 }, 'boot request for a node whose profile is no longer configured');
        return json(404, { error: `boot profile ${node.profile} is not configured` });
      }
      log.info({ node: node.name, mac, remote, tokenId: node.tokenId, status: 200 }, 'pixiecore boot request answered');
      return json(200, bootAnswer(profile, node, config.server ?? ''));
    },
  };
}
