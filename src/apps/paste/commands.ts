import { closeSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';
import { Conflict, NotFound, PermissionDenied, UsageError } from '../../core/errors.ts';
import type { CommandContext } from '../../ops/context.ts';
import { commandHandle, defineCommand, type AnyCommand, type ResultOf } from '../../ops/registry.ts';
import type { IdentityStore } from '../../ops/identity/store.ts';
import { expiresText, humanSize } from './format.ts';
import { checkPasteName, generatedName, hiddenName, isPasteName, isUserName, parsePasteRef } from './names.ts';
import type { Paste, PasteStore } from './store.ts';
import { copyFdTo, type OutputFilter } from './stream-out.ts';
import { TerminalSanitizer } from '../../core/terminal-text.ts';
import { receiveToFile } from './upload.ts';
import { suggestions } from '../../core/suggest.ts';

/** Longest expiry accepted (ten years): keeps dates far from the edge of what Date holds. */
const MAX_EXPIRY_SECONDS = 3650 * 86400;
/** How much of a text paste `paste cat` returns on surfaces without a stdout (TUI, Matrix). */
const INLINE_LIMIT = 1024 * 1024;

export interface PasteDeps {
  store: PasteStore;
  /** Finds the owner of `paste ls --user NAME`. */
  identities: Pick<IdentityStore, 'requireUser'>;
  publicUrl: string;
  /** paste.maxSize: bytes one upload may hold. */
  maxSize: number;
  /** paste.quota: bytes and pastes one user may keep (default: no quota). */
  quota?: { bytes: number; count: number };
  /** paste.defaultExpiry, parsed: seconds, or null for none. */
  defaultExpirySeconds: number | null;
}

/** Another user's pastes are listed or deleted by admins only: the rule the commands' `authorize` applies. */
function mayActOnOthers(ctx: CommandContext, owner: string, what: string): void {
  if (owner !== ctx.actor.name && !ctx.can('admin.users')) throw new PermissionDenied(`permission denied: only admins ${what} other users' pastes`);
}

function userIdOf(ctx: CommandContext): number {
  if (ctx.actor.userId === null) throw new UsageError('pastes belong to a labd user; this actor has none');
  return ctx.actor.userId;
}

/** A paste for a terminal: sanitised, and \n as \r\n (the client's tty is raw and no pty here translates). */
function terminalFilter(): OutputFilter {
  const sanitizer = new TerminalSanitizer();
  return { chunk: (data) => sanitizer.push(data).replace(/\n/g, '\r\n'), flush: () => sanitizer.end().replace(/\n/g, '\r\n') };
}

/** Seconds until expiry from `--expires` or the configured default; null = never. */
/** How long `paste` waits for its first byte before saying on stderr that it reads stdin. */
const STDIN_HINT_MS = 2000;
const PASTE_SUBCOMMANDS = ['ls', 'cat', 'rm'];

/**
 * `ssh HOST paste lss` (a typo of `paste ls`) makes a paste named lss from stdin, and with a terminal
 * on stdin nothing arrives: after a moment with no input, say on stderr what labd is waiting for.
 * Returns the function that cancels the hint.
 */
function stdinHint(ctx: CommandContext, stdin: NodeJS.ReadableStream, name: string | undefined): () => void {
  const close = name === undefined ? [] : suggestions(name, PASTE_SUBCOMMANDS, 1);
  const timer = setTimeout(() => {
    const mean = close.length ? ` (did you mean 'paste ${close[0]}'?)` : '';
    ctx.progress(`reading the paste from stdin: end it with Ctrl-D, or Ctrl-C to cancel${mean}`);
  }, STDIN_HINT_MS);
  const cancel = () => {
    clearTimeout(timer);
    stdin.off('data', cancel);
  };
  stdin.once('data', cancel);
  return cancel;
}

export function expirySeconds(flag: string | undefined, configured: number | null): number | null {
  if (flag === undefined) {
    if (configured !== null && configured > MAX_EXPIRY_SECONDS) throw new UsageError('paste.defaultExpiry: at most 3650d');
    return configured;
  }
  const text = flag;
  if (text === 'never' || text === 'none') return null;
  if (!/^(\d+[smhdw])+$/.test(text))
    throw new UsageError(`--expires: expected a duration like 30s, 15m, 2h or 7d, or never; got '${JSON.stringify(text.slice(0, 40)).slice(1, -1)}'`);
  const seconds = parseDuration(text, '--expires');
  if (seconds > MAX_EXPIRY_SECONDS) throw new UsageError('--expires: at most 3650d');
  return seconds;
}

export function pasteUrl(publicUrl: string, owner: string, name: string): string {
  return `${publicUrl}/p/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
}

/** `paste ls`, by its typed handle (the TUI's Pastes screen lists them). */
export const pasteLs = commandHandle({
  path: ['paste', 'ls'],
  args: z.object({
    all: z.boolean().default(false).describe('include hidden pastes'),
    user: z.string().optional().describe("another user's pastes (admins)"),
  }),
}).returns<ResultOf<'table', PasteJson[]>>();

export type PasteJson = ReturnType<typeof pasteJson>;

function pasteJson(deps: PasteDeps, p: Paste) {
  const url = pasteUrl(deps.publicUrl, p.owner, p.name);
  return {
    owner: p.owner,
    name: p.name,
    url,
    rawUrl: `${url}/raw`,
    size: p.size,
    binary: p.binary,
    hidden: p.hidden,
    createdAt: p.createdAt.toISOString(),
    expiresAt: p.expiresAt?.toISOString() ?? null,
  };
}

export function pasteCommands(deps: PasteDeps): AnyCommand[] {
  const { store } = deps;

  const upload = defineCommand({
    path: ['paste'],
    summary: 'Store stdin as a paste and print its link',
    details:
      'example: cat notes.md | ssh HOST paste notes.md --expires 7d\nThe same name again replaces that paste. The extension picks the highlighting on the web page.',
    args: z.object({
      name: z.string().optional().describe('the paste name (default: a generated one)'),
      expires: z.string().optional().describe('delete after this long: 30s, 15m, 2h, 7d, or never'),
      hidden: z.boolean().default(false).describe('unguessable name, left out of lists'),
    }),
    positionals: ['name'],
    permission: 'paste',
    mutating: true,
    results: ['message'],
    needsIO: true,
    async run(ctx, args) {
      const userId = userIdOf(ctx);
      const stdin = ctx.io?.stdin;
      if (!stdin) throw new UsageError('paste reads stdin, which this surface does not have');
      const seconds = expirySeconds(args.expires, deps.defaultExpirySeconds);
      const chosen = args.name === undefined ? undefined : checkPasteName(args.name, true);
      // The quota bounds the upload itself, so a user at their quota cannot even fill the temp dir.
      const quota = deps.quota ?? { bytes: Number.MAX_SAFE_INTEGER, count: Number.MAX_SAFE_INTEGER };
      const used = await store.usage(userId, chosen);
      if (used.count + 1 > quota.count)
        throw new Conflict(`paste quota: you have ${used.count} pastes, the most one user may keep (paste.quota.count); remove some with paste rm`);
      const room = quota.bytes - used.bytes;
      if (room <= 0) throw new Conflict(`paste quota: your ${used.bytes} bytes fill it (paste.quota.bytes is ${quota.bytes}); remove some with paste rm`);
      const limit = Math.min(deps.maxSize, room);
      const tempPath = store.newTempPath();
      const receiving = receiveToFile(stdin, tempPath, limit, ctx.signal, () =>
        limit < deps.maxSize
          ? new Conflict(`paste quota: only ${room} of your ${quota.bytes} bytes are free (paste.quota.bytes); nothing was stored`)
          : new UsageError(`paste too large: the limit is ${limit} bytes (nothing was stored)`),
      );
      const hint = stdinHint(ctx, stdin, chosen);
      const received = await receiving.finally(hint);
      let name: string;
      try {
        if (received.size === 0) throw new UsageError('nothing on stdin: nothing was stored (example: cat FILE | ssh HOST paste NAME)');
        name = args.hidden ? hiddenName(chosen) : (chosen ?? (await freshName(userId)));
      } catch (err) {
        store.discardTemp(tempPath);
        throw err;
      }
      const now = ctx.clock.now();
      const row = await store.commit({
        userId,
        name,
        tempPath,
        size: received.size,
        binary: received.binary,
        hidden: args.hidden,
        expiresAt: seconds === null ? null : new Date(now.getTime() + seconds * 1000),
        quota,
      });
      const json = pasteJson(deps, { ...row, owner: ctx.actor.name });
      return { kind: 'message', text: json.url, json };
    },
  });

  async function freshName(userId: number): Promise<string> {
    for (let i = 0; i < 8; i++) {
      const name = generatedName();
      if (!(await store.exists(userId, name))) return name;
    }
    throw new Error('could not find a free paste name');
  }

  const ls = defineCommand(pasteLs, {
    summary: 'List your pastes',
    permission: 'paste',
    mutating: false,
    results: ['table'],
    authorize(ctx, args) {
      if (args.user !== undefined) mayActOnOthers(ctx, args.user, 'list');
    },
    async run(ctx, args) {
      let userId = userIdOf(ctx);
      if (args.user !== undefined && args.user !== ctx.actor.name) {
        if (!isUserName(args.user)) throw new UsageError(`bad user name '${args.user.slice(0, 40)}'`);
        userId = (await deps.identities.requireUser(args.user)).id;
      }
      const now = ctx.clock.now();
      const list = await store.list(userId, args.all);
      const rows = list.map((p) => ({
        name: p.name,
        size: humanSize(p.size),
        kind: p.binary ? 'binary' : 'text',
        hidden: p.hidden ? 'yes' : '',
        expires: expiresText(p.expiresAt, now),
        url: pasteUrl(deps.publicUrl, p.owner, p.name),
      }));
      const columns = [
        { key: 'name', label: 'NAME' },
        { key: 'size', label: 'SIZE' },
        { key: 'kind', label: 'KIND' },
        ...(args.all ? [{ key: 'hidden', label: 'HIDDEN' }] : []),
        { key: 'expires', label: 'EXPIRES' },
        { key: 'url', label: 'URL' },
      ];
      return { kind: 'table', columns, rows, empty: 'no pastes (make one with: cat FILE | ssh HOST paste NAME)', json: list.map((p) => pasteJson(deps, p)) };
    },
  });

  const cat = defineCommand({
    path: ['paste', 'cat'],
    summary: 'Print a paste (yours by NAME, anyone’s by USER/NAME)',
    details:
      'On a terminal (ssh -t) escape sequences and control characters are removed, so a paste cannot drive your terminal; --raw prints the bytes as they are.',
    args: z.object({
      ref: z.string().describe('NAME or USER/NAME'),
      raw: z.boolean().default(false).describe('on a terminal too, print the exact bytes (escape sequences included)'),
    }),
    positionals: ['ref'],
    permission: 'paste',
    mutating: false,
    results: ['message', 'streamed'],
    async run(ctx, args) {
      const { user, name } = parsePasteRef(args.ref, ctx.actor.name);
      const opened = await store.open(user, name);
      if (!opened) throw new NotFound(`no paste '${user}/${name}'`);
      const json = pasteJson(deps, opened.paste);
      if (ctx.io && !ctx.json) {
        if (ctx.io.isTerminal && !args.raw) {
          // Someone else's bytes on this user's terminal: nothing in them may move the cursor, retitle or recolour it.
          if (opened.paste.binary) {
            closeSync(opened.fd);
            return { kind: 'message', text: `(binary paste, ${humanSize(opened.size)}: ${json.rawUrl}; --raw prints it here)`, json };
          }
          await copyFdTo(opened.fd, ctx.io.stdout, ctx.signal, terminalFilter());
          return { kind: 'streamed', json };
        }
        ctx.io.bulkOutput?.();
        await copyFdTo(opened.fd, ctx.io.stdout, ctx.signal);
        return { kind: 'streamed', json };
      }
      try {
        if (opened.paste.binary) return { kind: 'message', text: `(binary paste, ${humanSize(opened.size)}: ${json.rawUrl})`, json };
        const text = store.readHead(opened.fd, INLINE_LIMIT);
        const more = opened.size > INLINE_LIMIT ? `\n… (${humanSize(opened.size)} in all: ${json.rawUrl})` : '';
        return { kind: 'message', text: text + more, json: { ...json, text } };
      } finally {
        closeSync(opened.fd);
      }
    },
  });

  const rm = defineCommand({
    path: ['paste', 'rm'],
    summary: 'Delete one of your pastes (admins: USER/NAME)',
    args: z.object({ ref: z.string().describe('NAME, or USER/NAME for admins') }),
    positionals: ['ref'],
    permission: 'paste',
    mutating: true,
    results: ['message'],
    destructive: true,
    authorize(ctx, args) {
      mayActOnOthers(ctx, parsePasteRef(args.ref, ctx.actor.name).user, 'delete');
    },
    async run(ctx, args) {
      const { user, name } = parsePasteRef(args.ref, ctx.actor.name);
      const removed = await store.remove(user, name);
      if (!removed) throw new NotFound(`no paste '${user}/${name}'`);
      return { kind: 'message', text: `removed ${user}/${name}`, json: { owner: user, name, removed: true } };
    },
  });

  /**
   * A paste as the web pages show it, for anyone (an anonymous actor on the http surface): the
   * metadata; the page and raw routes then read the bytes. A name that is not a live paste (wrong,
   * expired, or the visible part of a hidden paste's name without its secret) is not found.
   */
  const page = defineCommand({
    path: ['paste-page'],
    summary: 'Show a paste as its web page shows it',
    args: z.object({ user: z.string().max(64), name: z.string().max(200) }),
    permission: 'authenticated',
    mutating: false,
    results: ['record'],
    surfaces: ['http'],
    async authorize(_ctx, args) {
      const paste = isUserName(args.user) && isPasteName(args.name) ? await store.find(args.user, args.name) : undefined;
      if (!paste) throw new NotFound('no such paste (it may have expired)');
    },
    async run(_ctx, args) {
      const paste = await store.find(args.user, args.name);
      if (!paste) throw new NotFound('no such paste (it may have expired)');
      const json = pasteJson(deps, paste);
      return { kind: 'record', title: `${paste.owner}/${paste.name}`, fields: [{ label: 'size', value: humanSize(paste.size) }], json };
    },
  });

  return [upload, ls, cat, rm, page];
}
