/**
 * Where `repo import` and pull mirrors may fetch from. Any git.write holder can make labd fetch a
 * URL, so labd must not be a port scanner of its own network: the URL's host is resolved, every
 * address it resolves to is checked (loopback, private, link-local, CGNAT, multicast… are refused
 * unless git.importAllowPrivate, or git.importAllow names the host or a CIDR holding the address),
 * and git is pinned to the addresses checked (curl's resolve list for http(s), a rewritten URL
 * for git:// and ssh://), so a second DNS answer cannot point it elsewhere (rebinding); http
 * redirects are not followed. What went wrong when fetching is logged, never told: see
 * `importFailed`; an internal address is named only when the URL holds it literally.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, isIPv4 } from 'node:net';
import { Failed, PermissionDenied } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { shown } from './names.ts';

export interface ImportPolicy {
  /** git.importAllowPrivate */
  allowPrivate: boolean;
  /** git.importAllow: host names (as written in URLs) and CIDRs. */
  allow: readonly string[];
}

export type HostLookup = (host: string) => Promise<string[]>;

const systemLookup: HostLookup = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Addresses that are not the public internet (IANA special-purpose registries, and v6 forms that embed a v4 address). */
const INTERNAL: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.0.2.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['::', 96, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['64:ff9b:1::', 48, 'ipv6'],
  ['100::', 64, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'],
  ['2002::', 16, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['fec0::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

function blockList(entries: [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const list = new BlockList();
  for (const [addr, bits, family] of entries) list.addSubnet(addr, bits, family);
  return list;
}

const internal = blockList(INTERNAL);

function inList(list: BlockList, ip: string): boolean {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const addr = v4 ?? ip;
  return list.check(addr, isIPv4(addr) ? 'ipv4' : 'ipv6');
}

/** An import or mirror fetch failed: one message whatever the reason (refused, not found, TLS, DNS), the reason is logged. */
export function importFailed(url: string): Failed {
  return new Failed(`could not fetch a git repository from ${shown(url)} (what went wrong is in labd's log)`);
}

export class ImportSources {
  private readonly allowedHosts: Set<string>;
  private readonly allowedNets: BlockList;

  constructor(
    private readonly policy: ImportPolicy,
    private readonly lookup: HostLookup = systemLookup,
    private readonly log?: Pick<Logger, 'warn'>,
  ) {
    this.allowedHosts = new Set(policy.allow.filter((a) => !a.includes('/')).map((h) => h.toLowerCase()));
    this.allowedNets = blockList(
      policy.allow
        .filter((a) => a.includes('/'))
        .map((c) => {
          const [addr, bits] = c.split('/') as [string, string];
          return [addr, Number(bits), isIPv4(addr) ? 'ipv4' : 'ipv6'];
        }),
    );
  }

  /**
   * Checks a network URL's host and returns the git configuration (as GIT_CONFIG_* environment,
   * which takes any characters) that pins git to the addresses checked. Local paths (admins only,
   * checked by checkSourceUrl) need none. PermissionDenied for an internal address; importFailed
   * when the name does not resolve.
   */
  async pin(url: string): Promise<Record<string, string>> {
    if (!/^[a-z]+:\/\//i.test(url) || /^file:/i.test(url)) return {};
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw importFailed(url);
    }
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    if (!host) throw importFailed(url);
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : await this.lookup(host);
    } catch (err) {
      this.log?.warn({ err, url }, 'import source did not resolve');
      throw importFailed(url);
    }
    if (!addresses.length) throw importFailed(url);
    const hostAllowed = this.policy.allowPrivate || this.allowedHosts.has(host);
    const refused = hostAllowed ? undefined : addresses.find((addr) => inList(internal, addr) && !inList(this.allowedNets, addr));
    if (refused !== undefined) {
      this.log?.warn({ url, address: refused }, 'import source refused: internal address (git.importAllowPrivate, git.importAllow)');
      // An address written in the URL may be named; a name that resolves inside is not told apart
      // from one that does not resolve, or imports would map the internal DNS.
      if (isIP(host))
        throw new PermissionDenied(
          `${shown(url)}: labd does not fetch from internal addresses (loopback, private, link-local…); an admin may allow a source with git.importAllow`,
        );
      throw importFailed(url);
    }
    const config: [string, string][] = [];
    const scheme = parsed.protocol.slice(0, -1).toLowerCase();
    if (scheme === 'http' || scheme === 'https') {
      const port = parsed.port || (scheme === 'https' ? '443' : '80');
      const list = addresses.map((a) => (isIPv4(a) ? a : `[${a}]`)).join(',');
      // TLS still checks the certificate against the name; curl only connects where it was told.
      config.push(['http.curloptResolve', `${host}:${port}:${list}`], ['http.followRedirects', 'false']);
    } else {
      const pinned = new URL(url);
      pinned.hostname = isIPv4(addresses[0]!) ? addresses[0]! : `[${addresses[0]}]`;
      config.push([`url.${pinned.toString()}.insteadOf`, url]);
    }
    const env: Record<string, string> = { GIT_CONFIG_COUNT: String(config.length) };
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
    return env;
  }
}
