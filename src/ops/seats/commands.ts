/**
 * Seat commands (design §2.1): `seat add/ls/rm` and `keys rotate seat`. A seat is a person's device joining
 * the lab's private subnet as a Kilo Peer. Seats are access, so they need ops.keys. The private key is made
 * here, shown once and never stored, logged or audited; commands that show it are not offered in Matrix
 * (the homeserver and the bot's outbox would keep it).
 */
import { z } from 'zod';
import type { Surface } from '../../core/actor.ts';
import { Conflict, NotFound, Unavailable } from '../../core/errors.ts';
import type { Config } from '../../config/schema.ts';
import type { CommandContext } from '../context.ts';
import type { KiloPeer, KubePort } from '../kube/index.ts';
import { commandHandle, defineCommand, type AnyCommand, type ResultOf } from '../registry.ts';
import type { Result } from '../result.ts';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../nodes/tokens.ts';
import { hostIn, parseCidr } from './addresses.ts';
import { qrText } from './qr.ts';
import type { SeatRow, SeatStore } from './store.ts';
import { keyFingerprint, newKeyPair, wgQuickConfig, type ServerSide } from './wireguard.ts';

export const SEAT_LABEL = 'labd.dev/seat';
/** Where a seat's private key may be shown: on the user's own SSH session. */
const PRIVATE_SURFACES: readonly Surface[] = ['ssh', 'tui'];
/** Told to whoever asks for a seat command in a chat room. */
const SSH_ONLY_WHY = 'it shows a WireGuard private key, which must never be posted in a chat room; run it with ssh -t HOST';
/** Attempts at a key update racing other writers to the same Peer (409 Conflict). */
const PEER_UPDATE_ATTEMPTS = 5;

/** The seat name is the Kilo Peer's name: a DNS label. */
const seatName = z
  .string()
  .max(63, 'a seat name has at most 63 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a seat name (lower-case letters, digits and -, e.g. alice-phone)')
  .describe('the seat (device) name, e.g. alice-phone');

const SEATS_NOT_CONFIGURED =
  'seats are not configured: set seats.endpoint and seats.serverPublicKey (LABD_SEATS_ENDPOINT, LABD_SEATS_SERVER_PUBLIC_KEY) to the Kilo node seats connect to';

/** Why no seat can be added with this configuration (undefined: it can). */
function seatsNotConfigured(seats: Config['seats']): string | undefined {
  return seats.endpoint && seats.serverPublicKey ? undefined : SEATS_NOT_CONFIGURED;
}

function serverSide(seats: Config['seats']): ServerSide {
  const { endpoint, serverPublicKey, allowedIPs, dns, persistentKeepalive } = seats;
  if (!endpoint || !serverPublicKey) throw new Unavailable(SEATS_NOT_CONFIGURED);
  return { endpoint, serverPublicKey, allowedIPs, dns, persistentKeepalive };
}

/** What a seat's config shown once carries under --json (and what the TUI's Seats screen reads). */
export interface ShownOnceJson {
  seat: string;
  address: string;
  publicKey: string;
  privateKey: string;
  config: string;
  message: string;
}

/** Typed handles of the seat commands the TUI's Seats screen calls (`seat add` shows the config once). */
export const seatAdd = commandHandle({ path: ['seat', 'add'], args: z.object({ name: seatName }) }).returns<ResultOf<'message', ShownOnceJson>>();

export const seatLs = commandHandle({ path: ['seat', 'ls'], args: z.object({}) }).returns<Result>();

export const seatRm = commandHandle({ path: ['seat', 'rm'], args: z.object({ name: seatName }) }).returns<Result>();

/** The config shown once: text (with a QR code on a terminal) or, under --json, the fields. */
function shownOnce(ctx: CommandContext, seat: SeatRow, privateKey: string, server: ServerSide, headline: string): ResultOf<'message', ShownOnceJson> {
  const config = wgQuickConfig({ name: seat.name, address: seat.address, privateKey }, server);
  const qr = ctx.io?.isTerminal && !ctx.json ? `\n${qrText(config)}` : '';
  return {
    kind: 'message',
    text: (config + qr).replace(/\n$/, ''),
    json: { seat: seat.name, address: seat.address, publicKey: seat.publicKey, privateKey, config, message: headline },
  };
}

function peerFor(seat: SeatRow, keepalive: number): Omit<KiloPeer, 'resourceVersion'> {
  return {
    name: seat.name,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [SEAT_LABEL]: seat.name },
    publicKey: seat.publicKey,
    allowedIPs: [`${seat.address}/32`],
    persistentKeepalive: keepalive,
  };
}

export function seatCommands(kube: KubePort, store: SeatStore, seats: Config['seats']): AnyCommand[] {
  const add = defineCommand(seatAdd, {
    summary: "Add a person's device as a WireGuard peer: prints its wg-quick config (and a QR code on a terminal) once",
    details: 'The private key is shown only now and never stored: keep the config, or use `keys rotate seat NAME` for a new one.',
    positionals: ['name'],
    permission: 'ops.keys',
    mutating: true,
    results: ['message'],
    surfaces: PRIVATE_SURFACES,
    surfacesWhy: SSH_ONLY_WHY,
    notConfigured: () => seatsNotConfigured(seats),
    async run(ctx, args) {
      const server = serverSide(seats);
      if (await store.get(args.name))
        throw new Conflict(
          `seat ${args.name} already exists (remove it with 'seat rm ${args.name}', or give it a new key with 'keys rotate seat ${args.name}')`,
        );
      const peers = await kube.listPeers();
      const clash = peers.find((p) => p.name === args.name);
      if (clash) throw new Conflict(`a Kilo Peer named ${args.name} already exists in the cluster and is not a labd seat: choose another name`);
      // Addresses other peers (made by hand or by other tools) hold in the seat range are not given out.
      const range = parseCidr(seats.cidr);
      const held = peers.flatMap((p) => p.allowedIPs.map((ip) => hostIn(range, ip)).filter((ip): ip is string => ip !== undefined));
      const keys = newKeyPair();
      const seat = await store.reserve({ name: args.name, publicKey: keys.publicKey, createdBy: ctx.actor.name, at: ctx.clock.now() }, seats.cidr, held);
      if (!seat) throw new Conflict(`seat ${args.name} already exists`);
      try {
        await kube.createPeer(peerFor(seat, server.persistentKeepalive));
      } catch (err) {
        await store.remove(seat.name);
        throw err;
      }
      ctx.log.info({ seat: seat.name, address: seat.address, publicKey: seat.publicKey, actor: ctx.actor.name }, 'seat added');
      return shownOnce(ctx, seat, keys.privateKey, server, `seat ${seat.name} added with address ${seat.address}`);
    },
  });

  const ls = defineCommand(seatLs, {
    summary: 'List seats: name, address, public key, created, last rotated',
    permission: 'ops.keys',
    mutating: false,
    results: ['table'],
    async run(): Promise<Result> {
      const rows = await store.list();
      const day = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');
      return {
        kind: 'table',
        columns: [
          { key: 'name', label: 'NAME' },
          { key: 'address', label: 'ADDRESS' },
          { key: 'key', label: 'PUBLIC-KEY' },
          { key: 'created', label: 'CREATED' },
          { key: 'rotated', label: 'ROTATED' },
        ],
        rows: rows.map((s) => ({ name: s.name, address: s.address, key: keyFingerprint(s.publicKey), created: day(s.createdAt), rotated: day(s.rotatedAt) })),
        empty: 'no seats',
        json: rows.map((s) => ({
          name: s.name,
          address: s.address,
          publicKey: s.publicKey,
          createdBy: s.createdBy,
          createdAt: s.createdAt.toISOString(),
          rotatedAt: s.rotatedAt?.toISOString() ?? null,
        })),
      };
    },
  });

  const rm = defineCommand(seatRm, {
    summary: 'Remove a seat: deletes its Kilo Peer (the device is cut off) and frees its address',
    positionals: ['name'],
    permission: 'ops.keys',
    mutating: true,
    results: ['message'],
    destructive: true,
    async run(ctx, args): Promise<Result> {
      const seat = await store.get(args.name);
      if (!seat) throw new NotFound(`no seat ${args.name}`);
      try {
        await kube.deletePeer(seat.name);
      } catch (err) {
        // Already gone from the cluster (deleted by hand): the record still goes.
        if (!(err instanceof NotFound)) throw err;
      }
      await store.remove(seat.name);
      ctx.log.info({ seat: seat.name, address: seat.address, actor: ctx.actor.name }, 'seat removed');
      return {
        kind: 'message',
        text: `seat ${seat.name} removed; address ${seat.address} is free`,
        json: { seat: seat.name, address: seat.address, removed: true },
      };
    },
  });

  const rotate = defineCommand({
    path: ['keys', 'rotate', 'seat'],
    summary: 'Give a seat a new key pair: its Peer gets the public key, the new config is shown once',
    args: z.object({ name: seatName }),
    positionals: ['name'],
    permission: 'ops.keys',
    mutating: true,
    results: ['message'],
    surfaces: PRIVATE_SURFACES,
    surfacesWhy: SSH_ONLY_WHY,
    notConfigured: () => seatsNotConfigured(seats),
    async run(ctx, args): Promise<Result> {
      const server = serverSide(seats);
      const seat = await store.get(args.name);
      if (!seat) throw new NotFound(`no seat ${args.name}`);
      const keys = newKeyPair();
      const updated = { ...seat, publicKey: keys.publicKey };
      await updatePeerKey(kube, updated, server.persistentKeepalive);
      const at = ctx.clock.now();
      await store.setPublicKey(seat.name, keys.publicKey, at);
      ctx.log.info({ seat: seat.name, publicKey: keys.publicKey, actor: ctx.actor.name }, 'seat key rotated');
      return shownOnce(ctx, { ...updated, rotatedAt: at }, keys.privateKey, server, `seat ${seat.name} has a new key`);
    },
  });

  return [add, ls, rm, rotate];
}

/** Puts the new public key on the seat's Peer, re-reading it after a 409; a Peer deleted by hand is made again. */
async function updatePeerKey(kube: KubePort, seat: SeatRow, keepalive: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let peer: KiloPeer;
    try {
      peer = await kube.getPeer(seat.name);
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      await kube.createPeer(peerFor(seat, keepalive));
      return;
    }
    try {
      await kube.setPeerPublicKey(seat.name, seat.publicKey, peer.resourceVersion);
      return;
    } catch (err) {
      if (!(err instanceof Conflict) || attempt >= PEER_UPDATE_ATTEMPTS) throw err;
    }
  }
}
