/**
 * CardDAV (RFC 6352 on WebDAV, RFC 4918; sync-collection, RFC 6578) for each user's CRM, so phones
 * and desktop address books keep one copy with labd. Paths:
 *
 *   /.well-known/carddav        → discovery (RFC 6764): points at /dav/
 *   /dav/                        → the principal collection; tells the current user's principal
 *   /dav/USER/                   → the user's principal and address-book home
 *   /dav/USER/contacts/          → the address book (one per user)
 *   /dav/USER/contacts/NAME.vcf  → one card
 *
 * Authentication is HTTP Basic with the labd user name and an app token of scope carddav
 * (`token create --scope carddav`), resolved at every request by src/ops/tokens/actor.ts (an unknown,
 * revoked or expired token, or a removed user: 401). Each request is then a protocol command of the
 * registry (`carddav propfind`, `carddav put`, …, on the http surface): authorized on the live
 * permission table and account state (a user who no longer holds `crm`, or is disabled, is refused at
 * once), measured like every command, and audited when it writes (PUT, DELETE).
 * Every store call uses the token's owner; a path naming anyone else answers 404, so nobody learns
 * whose books exist. Request bodies are bounded; XML is parsed
 * by fast-xml-parser with entity processing off (and a DOCTYPE is refused outright).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { lazyRequire } from '../../core/lazy-require.ts';
import { LabdError, NotFound, PermissionDenied, UsageError, type ErrorKind } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { BodyTooLarge, type HttpRoute, type RouteRequest, type RouteResponse } from '../../ops/http.ts';
import type { Actor } from '../../core/actor.ts';
import { defineCommand, type AnyCommand, type Registry } from '../../ops/registry.ts';
import type { TokenActors, TokenRefusal } from '../../ops/tokens/actor.ts';
import { importCards, yieldToLoop } from './commands.ts';
import { compileFilter, MAX_PROP_FILTERS } from './dav-filter.ts';
import { streamedXml } from './dav-stream.ts';
import type { Contact, ContactData } from './model.ts';
import { CardTooLarge, checkCardSize, QuotaExceeded, type CrmLimits } from './quota.ts';
import { StaleWrite, type ChangeCursor, type CrmStore } from './store.ts';
import { contactToVCard, parseVCards } from './vcard.ts';

/** A PROPFIND or REPORT body: small XML (a multiget of MAX_MULTIGET hrefs fits). */
const MAX_XML_BYTES = 1024 * 1024;
/** hrefs one multiget may ask for: vdirsyncer asks for every card it lacks in one REPORT. */
const MAX_MULTIGET = 10_000;
/** Card ids read from the store at a time while a listing streams out (the cards one by one). */
const PAGE = 200;

const NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/"';
const SYNC_PREFIX = 'urn:x-labd:crm:sync:';

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function hrefPath(...segments: string[]): string {
  return '/dav/' + segments.map(encodeURIComponent).join('/') + '/';
}

function cardPath(user: string, href: string): string {
  return `${hrefPath(user, 'contacts')}${encodeURIComponent(href)}`;
}

function etagOf(c: Contact): string {
  return `"${c.rev}"`;
}

const fastXml = lazyRequire<typeof import('fast-xml-parser')>('fast-xml-parser');
let parser: XMLParser | undefined;
/** The one XML parser, made on the first CardDAV request. */
const xmlParser = (): XMLParser =>
  (parser ??= new (fastXml().XMLParser)({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    isArray: (name: string) => ['href', 'prop-filter', 'text-match', 'param-filter'].includes(name),
  }));

type Xml = Record<string, unknown>;

function parseXml(body: Buffer): Xml {
  const text = body.toString('utf8');
  if (!text.trim()) return {};
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new UsageError('DOCTYPE and entities are not accepted');
  try {
    return xmlParser().parse(text) as Xml;
  } catch {
    throw new UsageError('malformed XML');
  }
}

/** The local names of the properties a PROPFIND or REPORT asks for (undefined: allprop). */
function requestedProps(root: Xml | undefined): string[] | undefined {
  const prop = root?.prop;
  if (!prop || typeof prop !== 'object') return undefined;
  return Object.keys(prop as Xml).filter((k) => !k.startsWith('@_') && k !== '#text');
}

/** One <D:response>: found properties in a 200 propstat, the rest in a 404 one. */
function response(href: string, found: Record<string, string>, missing: string[] = []): string {
  const ok = Object.values(found).join('');
  const nf = missing.map((m) => `<${m}/>`).join('');
  return `<D:response><D:href>${xmlEscape(href)}</D:href>${ok ? `<D:propstat><D:prop>${ok}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>` : ''}${nf ? `<D:propstat><D:prop>${nf}</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>` : ''}</D:response>`;
}

const MULTISTATUS_HEAD = `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus ${NS}>`;

function multistatus(parts: string[], extra = ''): RouteResponse {
  return xml(207, `${MULTISTATUS_HEAD}${parts.join('')}${extra}</D:multistatus>\n`);
}

/** A multistatus streamed out as its parts are made; `extra` (a sync token) is asked for at the end. */
function streamedMultistatus(parts: AsyncIterable<string>, extra: () => string = () => ''): RouteResponse {
  return streamedXml(207, MULTISTATUS_HEAD, parts, () => `${extra()}</D:multistatus>\n`);
}

/** RFC 6578 §3.6 / RFC 6352 §8.6.1: the answer was cut short; what the client gets is a part of it. */
function truncated(requestUri: string): string {
  return `<D:response><D:href>${xmlEscape(requestUri)}</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status><D:error><D:number-of-matches-within-limits/></D:error></D:response>`;
}

function xml(status: number, body: string, headers: Record<string, string> = {}): RouteResponse {
  return { status, headers: { 'content-type': 'application/xml; charset=utf-8', ...headers }, body };
}

function plain(status: number, text: string, headers: Record<string, string> = {}): RouteResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...headers }, body: text + '\n' };
}

/** A precondition failed (RFC 4918 §16), with why in words for a person reading the client's log. */
function davError(status: number, ns: 'D' | 'C', condition: string, why?: string): RouteResponse {
  const reason = why ? `<L:reason xmlns:L="urn:x-labd">${xmlEscape(why)}</L:reason>` : '';
  return xml(status, `<?xml version="1.0" encoding="utf-8"?>\n<D:error ${NS}><${ns}:${condition}/>${reason}</D:error>\n`);
}

/** Known properties: their XML for a resource, by local name. Unknown ones are reported 404. */
type PropMap = Record<string, () => string>;

function pick(props: PropMap, asked: string[] | undefined): { found: Record<string, string>; missing: string[] } {
  const names = asked ?? Object.keys(props).filter((n) => n !== 'address-data');
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const n of names) {
    const f = props[n];
    if (f) found[n] = f();
    else missing.push(`D:${n.replace(/[^a-zA-Z0-9-]/g, '')}`);
  }
  return { found, missing };
}

const OPTIONS_HEADERS = { dav: '1, 3, addressbook', allow: 'OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, REPORT' };

export interface DavDeps {
  store: CrmStore;
  /** Turns a token into its user's actor (a live token of a user who exists); the registry then decides. */
  tokens: Pick<TokenActors, 'resolve'>;
  region?: string;
  log: Logger;
  /** crm.quota and crm.maxCardBytes: a PUT past them gets 507 or 413. */
  limits: CrmLimits;
  /** crm.syncPageSize: the most cards one sync-collection or addressbook-query answer carries. */
  syncPageSize: number;
}

/** The user a request acts for: the token's owner, as the registry resolved it for this request. */
interface DavUser {
  userId: number;
  userName: string;
  actor: Actor;
}

type DavHandler = (req: RouteRequest, who: DavUser) => Promise<RouteResponse>;

/**
 * One CardDAV request on its way through the registry: what the command runs and what it answers.
 * It travels beside the call (AsyncLocalStorage), not in the arguments, which are what the audit
 * row keeps (the path's user and card).
 */
interface Exchange {
  req: RouteRequest;
  handler: DavHandler;
  /** The token resolver's refusal (account state, the scope's permission) of a live token's user. */
  refusal?: TokenRefusal;
  response?: RouteResponse;
}

/** A CardDAV answer that is not a success, as the typed error the registry records its outcome from. */
class DavAnswer extends LabdError {
  override readonly kind: ErrorKind;
  constructor(readonly response: RouteResponse) {
    super(typeof response.body === 'string' && response.body.trim() ? response.body.trim().slice(0, 200) : `HTTP ${response.status}`);
    this.kind = outcomeOf(response.status);
  }
}

/** HTTP methods served through the registry, each as a protocol command `carddav METHOD`. */
const DAV_METHODS = ['propfind', 'report', 'get', 'put', 'delete'] as const;
type DavMethod = (typeof DAV_METHODS)[number];

/**
 * CardDAV over the registry: every request a command (`carddav propfind`, `carddav put`, …) on the
 * http surface, so it is authorized on the live permission table (`crm`; a denied, disabled or
 * removed user is refused at once), measured like any command and, for PUT and DELETE, audited with
 * its outcome. `routes` parse HTTP and invoke the commands; `commands` go into the registry.
 */
export function carddav(deps: DavDeps & { registry: Pick<Registry, 'invoke'> }): { commands: AnyCommand[]; routes: HttpRoute[] } {
  const { store, tokens, log, limits } = deps;
  const exchanges = new AsyncLocalStorage<Exchange>();
  const args = z.object({
    user: z.string().max(1024).optional().describe("the path's user"),
    card: z.string().max(1024).optional().describe("the card's resource name"),
  });
  const commands = DAV_METHODS.map((method) =>
    defineCommand({
      path: ['carddav', method],
      summary: `Serve a CardDAV ${method.toUpperCase()} request (spoken by address-book clients at /dav/)`,
      args,
      permission: 'crm',
      protocol: true,
      mutating: method === 'put' || method === 'delete',
      results: ['streamed'],
      surfaces: ['http'],
      surfacesWhy: 'CardDAV clients speak it at /dav/ with an app token',
      authorize(ctx, a) {
        const exchange = exchanges.getStore();
        if (!exchange) throw new UsageError('CardDAV requests come over HTTP, at /dav/');
        // The registry granted crm; the token resolver may still know more (a disabled account).
        if (exchange.refusal) throw new PermissionDenied(exchange.refusal.reason);
        // Every store call uses the token's owner; a path naming anyone else is not found (nobody learns whose books exist).
        if (a.user !== undefined && a.user !== ctx.actor.name) throw new NotFound('not found');
      },
      async run(ctx) {
        const exchange = exchanges.getStore()!;
        const who: DavUser = { userId: ctx.actor.userId!, userName: ctx.actor.name, actor: ctx.actor };
        const answer = await answered(exchange, who);
        if (answer.status >= 300) throw new DavAnswer(answer);
        exchange.response = answer;
        return { kind: 'streamed', json: { status: answer.status } };
      },
    }),
  );

  /** The handler's answer, its typed failures made HTTP answers (so the registry records what they were). */
  async function answered(exchange: Exchange, who: DavUser): Promise<RouteResponse> {
    try {
      return await exchange.handler(exchange.req, who);
    } catch (err) {
      if (err instanceof BodyTooLarge) return plain(413, `request body larger than ${err.limit} bytes (one card may be ${limits.maxCardBytes} bytes)`);
      if (err instanceof CardTooLarge) return plain(413, err.message);
      if (err instanceof QuotaExceeded) return plain(507, err.message);
      if (err instanceof StaleWrite) return plain(412, 'the card changed since you read it (ETag does not match): nothing was written');
      if (err instanceof UsageError) return plain(400, err.message);
      throw err;
    }
  }

  // A card's vCard text is its stored size plus property names and line folding (3 octets in 75).
  const maxPutBytes = limits.maxCardBytes + Math.ceil(limits.maxCardBytes / 8) + 64 * 1024;

  /** The token's live user, when the Basic user name is theirs (with the resolver's refusal, if any); or the 401. */
  async function authenticate(req: RouteRequest): Promise<{ actor: Actor; refusal?: TokenRefusal } | undefined> {
    const header = req.header('authorization') ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i.exec(header.trim());
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const resolved = await tokens.resolve(decoded.slice(colon + 1), 'carddav', req.remoteAddress);
    const { actor } = resolved;
    if (!actor || actor.userId === null || actor.name !== decoded.slice(0, colon)) return undefined;
    return 'refused' in resolved ? { actor, refusal: resolved } : { actor };
  }

  const unauthorized = (): RouteResponse =>
    plain(401, 'authentication required: your labd user name and an app token (ssh HOST token create --scope carddav)', {
      'www-authenticate': 'Basic realm="labd CardDAV", charset="UTF-8"',
    });

  /**
   * A route that runs `carddav METHOD` in the registry as the token's user: authorization (the live
   * permission table, the account, the path's user), metrics and the audit row are the registry's.
   * An unknown, revoked or expired token names nobody: it is asked for credentials, not a command.
   */
  function guarded(method: DavMethod, handler: DavHandler): (req: RouteRequest) => Promise<RouteResponse> {
    return async (req) => {
      const who = await authenticate(req);
      if (!who) {
        req.discardBody();
        return unauthorized();
      }
      const exchange: Exchange = { req, handler, refusal: who.refusal };
      try {
        await exchanges.run(exchange, () =>
          deps.registry.invoke(who.actor, ['carddav', method], { user: req.params.user, card: req.params.card }, { surface: 'http' }),
        );
        return exchange.response!;
      } catch (err) {
        req.discardBody();
        if (err instanceof DavAnswer) return err.response;
        if (err instanceof LabdError && err.kind !== 'failed') return plain(ERROR_STATUS[err.kind], err.message);
        throw err;
      }
    };
  }

  const principalProps = (who: DavUser): PropMap => ({
    'current-user-principal': () => `<D:current-user-principal><D:href>${xmlEscape(hrefPath(who.userName))}</D:href></D:current-user-principal>`,
    'principal-URL': () => `<D:principal-URL><D:href>${xmlEscape(hrefPath(who.userName))}</D:href></D:principal-URL>`,
    'addressbook-home-set': () => `<C:addressbook-home-set><D:href>${xmlEscape(hrefPath(who.userName))}</D:href></C:addressbook-home-set>`,
    displayname: () => `<D:displayname>${xmlEscape(who.userName)}</D:displayname>`,
    resourcetype: () => '<D:resourcetype><D:collection/><D:principal/></D:resourcetype>',
  });

  const bookProps = async (who: DavUser): Promise<PropMap> => {
    const rev = await store.revision(who.userId);
    return {
      resourcetype: () => '<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>',
      displayname: () => '<D:displayname>labd CRM</D:displayname>',
      'current-user-principal': () => `<D:current-user-principal><D:href>${xmlEscape(hrefPath(who.userName))}</D:href></D:current-user-principal>`,
      getctag: () => `<CS:getctag>${rev}</CS:getctag>`,
      'sync-token': () => `<D:sync-token>${SYNC_PREFIX}${rev}</D:sync-token>`,
      'supported-report-set': () =>
        '<D:supported-report-set>' +
        ['C:addressbook-query', 'C:addressbook-multiget', 'D:sync-collection']
          .map((r) => `<D:supported-report><D:report><${r}/></D:report></D:supported-report>`)
          .join('') +
        '</D:supported-report-set>',
      'supported-address-data': () =>
        '<C:supported-address-data><C:address-data-type content-type="text/vcard" version="4.0"/><C:address-data-type content-type="text/vcard" version="3.0"/></C:supported-address-data>',
      'max-resource-size': () => `<C:max-resource-size>${limits.maxCardBytes}</C:max-resource-size>`,
      'current-user-privilege-set': () =>
        '<D:current-user-privilege-set><D:privilege><D:read/></D:privilege><D:privilege><D:write/></D:privilege><D:privilege><D:write-content/></D:privilege><D:privilege><D:bind/></D:privilege><D:privilege><D:unbind/></D:privilege></D:current-user-privilege-set>',
      'addressbook-description': () => '<C:addressbook-description>Your contacts in labd</C:addressbook-description>',
    };
  };

  /** Card text by contact, with RELATED lines resolved to the other contacts' UIDs. */
  async function vcardOf(ownerId: number, c: Contact): Promise<string> {
    const uids = new Map<number, string>();
    for (const l of c.links) {
      const other = await store.get(ownerId, l.id);
      if (other) uids.set(l.id, other.uid);
    }
    return contactToVCard(c, (id) => uids.get(id));
  }

  const cardProps = (c: Contact): PropMap => ({
    getetag: () => `<D:getetag>${xmlEscape(etagOf(c))}</D:getetag>`,
    getcontenttype: () => '<D:getcontenttype>text/vcard; charset=utf-8</D:getcontenttype>',
    resourcetype: () => '<D:resourcetype/>',
    getlastmodified: () => `<D:getlastmodified>${c.updatedAt.toUTCString()}</D:getlastmodified>`,
    // Filled in by cardResponse: the card text is made asynchronously.
    'address-data': () => '',
  });

  async function cardResponse(ownerId: number, user: string, c: Contact, asked: string[] | undefined): Promise<string> {
    const { found, missing } = pick(cardProps(c), asked);
    if ('address-data' in found) found['address-data'] = `<C:address-data>${xmlEscape(await vcardOf(ownerId, c))}</C:address-data>`;
    return response(cardPath(user, c.href), found, missing);
  }

  const depthOf = (req: RouteRequest) => (req.header('depth') ?? 'infinity').trim();

  const wellKnown = (method: HttpRoute['method']): HttpRoute => ({
    method,
    path: '/.well-known/carddav',
    handle: async (req) => {
      req.discardBody();
      return { status: 301, headers: { location: '/dav/' }, body: '' };
    },
  });

  const rootPropfind = guarded('propfind', async (req, who) => {
    const asked = requestedProps(parseXml(await req.readBody(MAX_XML_BYTES)).propfind as Xml | undefined);
    const root: PropMap = {
      'current-user-principal': principalProps(who)['current-user-principal']!,
      resourcetype: () => '<D:resourcetype><D:collection/></D:resourcetype>',
      displayname: () => '<D:displayname>labd</D:displayname>',
    };
    const { found, missing } = pick(root, asked);
    return multistatus([response('/dav/', found, missing)]);
  });

  const principalPropfind = guarded('propfind', async (req, who) => {
    const asked = requestedProps(parseXml(await req.readBody(MAX_XML_BYTES)).propfind as Xml | undefined);
    const parts: string[] = [];
    const { found, missing } = pick(principalProps(who), asked);
    parts.push(response(hrefPath(who.userName), found, missing));
    if (depthOf(req) !== '0') {
      const b = pick(await bookProps(who), asked);
      parts.push(response(hrefPath(who.userName, 'contacts'), b.found, b.missing));
    }
    return multistatus(parts);
  });

  /** Every card of the owner's book, a page at a time (the store never hands over the whole book). */
  async function* everyCard(ownerId: number): AsyncGenerator<Contact> {
    for (let after = 0; ;) {
      const ids = await store.pageIds(ownerId, after, PAGE);
      for (const id of ids) {
        const c = await store.get(ownerId, id);
        if (c) yield c;
      }
      if (ids.length < PAGE) return;
      after = ids[ids.length - 1]!;
      // A filter may pass over many pages without a part to send: the loop gets its turn here too.
      await yieldToLoop();
    }
  }

  const bookPropfind = guarded('propfind', async (req, who) => {
    const asked = requestedProps(parseXml(await req.readBody(MAX_XML_BYTES)).propfind as Xml | undefined);
    const depth = depthOf(req);
    // RFC 4918 §9.1: a server may refuse Depth: infinity; Depth 1 lists the cards, streamed.
    if (depth === 'infinity' && req.header('depth') !== undefined)
      return davError(403, 'D', 'propfind-finite-depth', 'Depth: infinity is not served; ask with Depth: 1');
    const b = pick(await bookProps(who), asked);
    const self = response(hrefPath(who.userName, 'contacts'), b.found, b.missing);
    if (depth === '0') return multistatus([self]);
    const cardAsked = asked?.filter((a) => a !== 'address-data') ?? ['getetag', 'getcontenttype', 'resourcetype'];
    return streamedMultistatus(
      (async function* () {
        yield self;
        for await (const c of everyCard(who.userId)) yield await cardResponse(who.userId, who.userName, c, cardAsked);
      })(),
    );
  });

  const cardPropfind = guarded('propfind', async (req, who) => {
    const asked = requestedProps(parseXml(await req.readBody(MAX_XML_BYTES)).propfind as Xml | undefined);
    const c = await store.getByHref(who.userId, req.params.card!);
    if (!c) return plain(404, 'not found');
    return multistatus([await cardResponse(who.userId, who.userName, c, asked)]);
  });

  /** `<D:limit><D:nresults>N</D:nresults></D:limit>` (RFC 5323 §5.17, used by RFC 6578 and 6352), or undefined. */
  function clientLimit(q: Xml): number | undefined {
    const n = Number(String((q.limit as Xml | undefined)?.nresults ?? '').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  }

  /** `urn:x-labd:crm:sync:REV` (everything up to REV) or `…:REV.SEQ` (a page that ended inside REV). */
  function parseSyncToken(token: string): ChangeCursor | undefined {
    const m = token.startsWith(SYNC_PREFIX) ? /^(\d{1,15})(?:\.(\d{1,16}))?$/.exec(token.slice(SYNC_PREFIX.length)) : null;
    return m ? { rev: Number(m[1]), seq: m[2] === undefined ? Number.MAX_SAFE_INTEGER : Number(m[2]) } : undefined;
  }

  const gone = (href: string) => `<D:response><D:href>${xmlEscape(href)}</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>`;

  const bookReport = guarded('report', async (req, who) => {
    const body = await req.readBody(MAX_XML_BYTES);
    // Counted before parsing: parsing thousands of filters is itself a stretch of the event loop.
    const propFilters = body.toString('latin1').match(/<([\w.-]+:)?prop-filter[\s/>]/g)?.length ?? 0;
    if (propFilters > MAX_PROP_FILTERS)
      return davError(403, 'C', 'supported-filter', `at most ${MAX_PROP_FILTERS} prop-filters in one addressbook-query (this has ${propFilters})`);
    const doc = parseXml(body);
    const requestUri = hrefPath(who.userName, 'contacts');
    if (doc['addressbook-multiget']) {
      const q = doc['addressbook-multiget'] as Xml;
      const asked = requestedProps(q);
      const hrefs = ((q.href as unknown[]) ?? []).map(String);
      if (hrefs.length > MAX_MULTIGET)
        return davError(403, 'D', 'number-of-matches-within-limits', `at most ${MAX_MULTIGET} hrefs in one addressbook-multiget; ask in parts`);
      return streamedMultistatus(
        (async function* () {
          for (const h of hrefs) {
            let name: string | undefined;
            try {
              const path = new URL(h, 'http://labd.invalid').pathname;
              if (path.startsWith(requestUri)) name = decodeURIComponent(path.slice(requestUri.length));
            } catch {
              name = undefined;
            }
            const c = name ? await store.getByHref(who.userId, name) : undefined;
            yield c ? await cardResponse(who.userId, who.userName, c, asked) : gone(h);
          }
        })(),
      );
    }
    if (doc['sync-collection']) {
      const q = doc['sync-collection'] as Xml;
      const asked = requestedProps(q);
      const token = String(q['sync-token'] ?? '').trim();
      const current = await store.revision(who.userId);
      let since: ChangeCursor = { rev: 0, seq: -1 };
      if (token) {
        const parsed = parseSyncToken(token);
        if (!parsed || parsed.rev > current) return davError(403, 'D', 'valid-sync-token');
        since = parsed;
      }
      // A first sync (no token) lists what is there; later ones also what went.
      const withRemoved = since.rev > 0;
      const pageSize = Math.min(clientLimit(q) ?? deps.syncPageSize, deps.syncPageSize);
      // One more than a page tells whether the answer is complete.
      const entries = await store.changePage(who.userId, since, pageSize + 1, withRemoved);
      const more = entries.length > pageSize;
      const page = more ? entries.slice(0, pageSize) : entries;
      const last = page[page.length - 1];
      // Complete: the book's revision read before the page, so a change made meanwhile is sent again
      // next time rather than missed. Cut short: where the page ended, and a 507 on the request-URI.
      const next = more && last ? `${last.rev}.${last.seq}` : String(Math.max(current, since.rev));
      return streamedMultistatus(
        (async function* () {
          for (const e of page) {
            if (e.id !== null) {
              const c = await store.get(who.userId, e.id);
              if (c) yield await cardResponse(who.userId, who.userName, c, asked);
            } else if (e.href !== null) yield gone(cardPath(who.userName, e.href));
          }
          if (more) yield truncated(requestUri);
        })(),
        () => `<D:sync-token>${SYNC_PREFIX}${next}</D:sync-token>`,
      );
    }
    if (doc['addressbook-query']) {
      const q = doc['addressbook-query'] as Xml;
      const asked = requestedProps(q);
      const filter = compileFilter((q.filter ?? {}) as Xml);
      if (typeof filter === 'string') return davError(403, 'C', 'supported-filter', filter);
      const limit = Math.min(clientLimit(q) ?? deps.syncPageSize, deps.syncPageSize);
      return streamedMultistatus(
        (async function* () {
          let n = 0;
          for await (const c of everyCard(who.userId)) {
            if (!filter(c)) continue;
            if (n++ === limit) {
              yield truncated(requestUri);
              return;
            }
            yield await cardResponse(who.userId, who.userName, c, asked);
          }
        })(),
      );
    }
    return davError(403, 'D', 'supported-report');
  });

  const cardGet = guarded('get', async (req, who) => {
    const c = await store.getByHref(who.userId, req.params.card!);
    if (!c) return plain(404, 'not found');
    return {
      status: 200,
      headers: { 'content-type': 'text/vcard; charset=utf-8', etag: etagOf(c), 'last-modified': c.updatedAt.toUTCString() },
      body: await vcardOf(who.userId, c),
    };
  });

  /** `"12"` → 12; anything else (a weak or foreign ETag) matches nothing. */
  const revOf = (etag: string | undefined) => {
    const m = /^"(\d+)"$/.exec((etag ?? '').trim());
    return m ? Number(m[1]) : -1;
  };

  const cardPut = guarded('put', async (req, who) => {
    const name = req.params.card!;
    if (name.length > 255 || /[/\\\x00-\x1f]/.test(name)) return plain(400, 'bad resource name');
    const body = await req.readBody(maxPutBytes);
    const cards = parseVCards(body.toString('utf8'), deps.region);
    if (cards.length !== 1) return davError(403, 'C', 'valid-address-data');
    const incoming = cards[0]!;
    checkCardSize(incoming.data, limits.maxCardBytes);
    const existing = await store.getByHref(who.userId, name);
    const ifMatch = req.header('if-match');
    const ifNoneMatch = req.header('if-none-match');
    if (existing) {
      if (ifNoneMatch?.trim() === '*') return plain(412, 'a card exists at this address: nothing was written');
      if (ifMatch !== undefined && ifMatch.trim() !== '*' && revOf(ifMatch) !== existing.rev)
        return plain(412, 'the card changed since you read it (ETag does not match): nothing was written');
      const other = await store.getByUid(who.userId, incoming.data.uid);
      if (other && other.id !== existing.id) return davError(409, 'C', 'no-uid-conflict');
      // The vCard replaces what it carries; labd's own bookkeeping (links, journal) stays.
      const updated = await store.update(
        who.userId,
        existing.id,
        replaceCardData(existing, incoming.data),
        ifMatch !== undefined && ifMatch.trim() !== '*' ? existing.rev : undefined,
        limits.quota,
      );
      return { status: 204, headers: { etag: etagOf(updated) }, body: '' };
    }
    if (ifMatch !== undefined) return plain(412, 'no card at this address: nothing was written');
    if (await store.getByUid(who.userId, incoming.data.uid)) return davError(409, 'C', 'no-uid-conflict');
    const created = await store.create(who.userId, incoming.data, name, limits.quota);
    if (incoming.related.length) await importCards(store, who.userId, [{ data: incoming.data, related: incoming.related }]);
    const fresh = (await store.get(who.userId, created.id))!;
    log.debug({ user: who.userName, card: name }, 'carddav card created');
    return { status: 201, headers: { etag: etagOf(fresh), location: cardPath(who.userName, name) }, body: '' };
  });

  const cardDelete = guarded('delete', async (req, who) => {
    req.discardBody();
    const c = await store.getByHref(who.userId, req.params.card!);
    if (!c) return plain(404, 'not found');
    const ifMatch = req.header('if-match');
    if (ifMatch !== undefined && ifMatch.trim() !== '*' && revOf(ifMatch) !== c.rev)
      return plain(412, 'the card changed since you read it (ETag does not match): nothing was removed');
    await store.remove(who.userId, c.id, ifMatch !== undefined && ifMatch.trim() !== '*' ? c.rev : undefined);
    return { status: 204, body: '' };
  });

  const options = (path: string): HttpRoute => ({
    method: 'OPTIONS',
    path,
    handle: async (req) => {
      req.discardBody();
      return { status: 200, headers: OPTIONS_HEADERS, body: '' };
    },
  });

  const routes: HttpRoute[] = [wellKnown('GET'), wellKnown('PROPFIND'), wellKnown('OPTIONS')];
  for (const p of ['/dav', '/dav/']) routes.push({ method: 'PROPFIND', path: p, handle: rootPropfind }, options(p));
  for (const p of ['/dav/:user', '/dav/:user/']) routes.push({ method: 'PROPFIND', path: p, handle: principalPropfind }, options(p));
  for (const p of ['/dav/:user/contacts', '/dav/:user/contacts/'])
    routes.push({ method: 'PROPFIND', path: p, handle: bookPropfind }, { method: 'REPORT', path: p, handle: bookReport }, options(p));
  const card = '/dav/:user/contacts/:card';
  routes.push(
    { method: 'GET', path: card, handle: cardGet },
    { method: 'PUT', path: card, handle: cardPut },
    { method: 'DELETE', path: card, handle: cardDelete },
    { method: 'PROPFIND', path: card, handle: cardPropfind },
    options(card),
  );
  return { commands, routes };
}

/** HTTP status of a typed refusal that is not the handler's own answer (the registry's: permission, a path not found). */
const ERROR_STATUS: Record<Exclude<ErrorKind, 'failed'>, number> = { usage: 400, permission: 403, not_found: 404, conflict: 409, unavailable: 503 };

/** An HTTP status as a command outcome (the words audit rows and metrics use). */
function outcomeOf(status: number): ErrorKind {
  if (status === 401 || status === 403) return 'permission';
  if (status === 404) return 'not_found';
  if (status === 412 || status === 409) return 'conflict';
  if (status >= 500) return 'failed';
  return 'usage';
}

/** What a PUT replaces: everything the vCard carries (labd's links and journal are not in it and stay). */
function replaceCardData(existing: Contact, incoming: ContactData): ContactData {
  return { ...incoming, uid: incoming.uid || existing.uid };
}
