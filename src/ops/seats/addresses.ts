/** Seat addresses: IPv4 hosts of the configured CIDR, never its network, first (the lab side) or broadcast address. */
import { UsageError } from '../../core/errors.ts';

const toNumber = (ip: string): number => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const toText = (n: number): string => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');

export interface Ipv4Range {
  network: number;
  size: number;
}

export function parseCidr(cidr: string): Ipv4Range {
  const [ip, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return { network: toNumber(ip!) - (toNumber(ip!) % size), size };
}

/** The address of a `/32` CIDR or a bare IPv4 address inside the range, else undefined. */
export function hostIn(range: Ipv4Range, value: string): string | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/32)?$/.exec(value);
  if (!m) return undefined;
  const n = toNumber(m[1]!);
  return n >= range.network && n < range.network + range.size ? m[1] : undefined;
}

/** The lowest free seat address; `taken` holds addresses in use. */
export function allocate(cidr: string, taken: ReadonlySet<string>): string {
  const range = parseCidr(cidr);
  for (let n = range.network + 2; n < range.network + range.size - 1; n++) {
    const ip = toText(n);
    if (!taken.has(ip)) return ip;
  }
  throw new UsageError(`no free seat address left in ${cidr} (seats.cidr): remove a seat or widen the range`);
}
