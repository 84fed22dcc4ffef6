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
 * (`token create --scope carddav`), resolved at every request by src/ops/tokens/actor.ts: a revoked
 * token, a disabled or removed account, or a user who no longer holds `crm` is refused at once.
 * Every store call uses the token's owner; a path naming anyone else answers 404, so nobody learns
 * whose books exist. Request bodies are bounded; XML is parsed
 * by fast-xml-parser with entity processing off (and a DOCTYPE is refused outright).
 */
import { XMLParser } from 'fast-xml-parser';
import ICAL from 'ical.js';
import { UsageError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { BodyTooLarge, type HttpRoute, type RouteRequest, type RouteResponse } from '../../ops/http.ts';
import type { AuditLog } from '../../ops/audit/store.ts';
import type { Clock } from '../../core/clock.ts';
import type { Actor } from '../../core/actor.ts';
import type { CommandObserver } from '../../ops/registry.ts';
import type { TokenActors } from '../../ops/tokens/actor.ts';
import { importCards } from './commands.ts';
import type { Contact, ContactData } from './model.ts';
import { StaleWrite, type CrmStore } from './store.ts';
import { contactToVCard, parseVCards } from './vcard.ts';

/** A PROPFIND or REPORT body: small XML. */
const MAX_XML_BYTES = 256 * 1024;
/** One card, photo included. */
export const MAX_CARD_BYTES = 4 * 1024 * 1024;
/** hrefs one multiget may ask for. */
const MAX_MULTIGET = 2000;

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

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  isArray: (name) => ['href', 'prop-filter', 'text-match', 'param-filter'].includes(name),
});

type Xml = Record<string, unknown>;

function parseXml(body: Buffer): Xml {
  const text = body.toString('utf8');
  if (!text.trim()) return {};
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new UsageError('DOCTYPE and entities are not accepted');
  try {
    return parser.parse(text) as Xml;
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

function multistatus(parts: string[], extra = ''): RouteResponse {
  return xml(207, `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus ${NS}>${parts.join('')}${extra}</D:multistatus>\n`);
}

function xml(status: number, body: string, headers: Record<string, string> = {}): RouteResponse {
  return { status, headers: { 'content-type': 'application/xml; charset=utf-8', ...headers }, body };
}

function plain(status: number, text: string, headers: Record<string, string> = {}): RouteResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...headers }, body: text + '\n' };
}

function davError(status: number, ns: 'D' | 'C', condition: string): RouteResponse {
  return xml(status, `<?xml version="1.0" encoding="utf-8"?>\n<D:error ${NS}><${ns}:${condition}/></D:error>\n`);
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
  /** Turns a token into its user's actor, checked now (account state, the crm permission). */
  tokens: Pick<TokenActors, 'resolve'>;
  /** CardDAV writes are audited like commands (`carddav put`, `carddav delete`). */
  audit: AuditLog;
  /** Every CardDAV request is measured like a command (`carddav get`, `carddav put`, …). */
  observer?: CommandObserver;
  region?: string;
  clock: Clock;
  log: Logger;
}

/** The user a request acts for: the token's owner, as an actor resolved for this request. */
interface DavUser {
  userId: number;
  userName: string;
  actor: Actor;
}

/** The CardDAV routes, as neutral HTTP routes. */
export function davRoutes(deps: DavDeps): HttpRoute[] {
  const { store, tokens, log } = deps;

  /** The token's user, when the Basic user name is theirs; or the refusal (with the user when it is known). */
  async function authenticate(req: RouteRequest): Promise<DavUser | { refusal: RouteResponse; actor?: Actor }> {
    const header = req.header('authorization') ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i.exec(header.trim());
    if (!m) return { refusal: unauthorized() };
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { refusal: unauthorized() };
    const resolved = await tokens.resolve(decoded.slice(colon + 1), 'carddav', req.remoteAddress);
    if ('refused' in resolved)
      return resolved.refused === 'forbidden' ? { refusal: plain(403, resolved.reason), actor: resolved.actor } : { refusal: unauthorized() };
    const { actor } = resolved;
    if (actor.userId === null || actor.name !== decoded.slice(0, colon)) return { refusal: unauthorized() };
    return { userId: actor.userId, userName: actor.name, actor };
  }

  const unauthorized = (): RouteResponse =>
    plain(401, 'authentication required: your labd user name and an app token (ssh HOST token create --scope carddav)', {
      'www-authenticate': 'Basic realm="labd CardDAV", charset="UTF-8"',
    });

  /**
   * Wraps a handler as the registry wraps a command: the actor resolved now (token, account, the crm
   * permission), the path's user must be the token's, bounded bodies, typed errors; every request
   * measured (`carddav get`, …), and a write (`auditAs`) audited with its outcome, refusals included.
   */
  function guarded(handler: (req: RouteRequest, who: DavUser) => Promise<RouteResponse>, auditAs?: string): (req: RouteRequest) => Promise<RouteResponse> {
    return async (req) => {
      const started = performance.now();
      let status = 500;
      let actor: Actor | undefined;
      let error: string | undefined;
      try {
        const who = await authenticate(req);
        actor = who.actor;
        const answer = 'refusal' in who ? (req.discardBody(), who.refusal) : await authorizedCall(req, who, handler);
        status = answer.status;
        if (status >= 300 && typeof answer.body === 'string') error = answer.body.trim().slice(0, 200);
        return answer;
      } catch (err) {
        error = (err as Error).message?.slice(0, 200);
        throw err;
      } finally {
        const seconds = (performance.now() - started) / 1000;
        const outcome = outcomeOf(status);
        deps.observer?.commandFinished(`carddav ${req.method.toLowerCase()}`, 'http', outcome, seconds);
        // Refusals of an unknown token are not audited: nobody to name, and the log would be anyone's to fill.
        if (auditAs && actor)
          await deps.audit
            .record({ at: deps.clock.now(), actor, command: auditAs, args: { card: req.params.card }, outcome, error, durationMs: Math.round(seconds * 1000) })
            .catch((err: unknown) => log.error({ err, command: auditAs }, 'could not write the audit row'));
      }
    };
  }

  async function authorizedCall(req: RouteRequest, who: DavUser, handler: (req: RouteRequest, who: DavUser) => Promise<RouteResponse>): Promise<RouteResponse> {
    if (req.params.user !== undefined && req.params.user !== who.userName) {
      req.discardBody();
      return plain(404, 'not found');
    }
    try {
      return await handler(req, who);
    } catch (err) {
      if (err instanceof BodyTooLarge) return plain(413, `request body larger than ${err.limit} bytes`);
      if (err instanceof StaleWrite) return plain(412, 'the card changed since you read it (ETag does not match): nothing was written');
      if (err instanceof UsageError) return plain(400, err.message);
      throw err;
    }
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
      'max-resource-size': () => `<C:max-resource-size>${MAX_CARD_BYTES}</C:max-resource-size>`,
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

  const rootPropfind = guarded(async (req, who) => {
    const asked = requestedProps(parseXml(await req.readBody(MAX_XML_BYTES)).propfind as Xml | undefined);
    const root: PropMap = {
      'current-user-principal': principalProps(who)['current-user-principal']!,
      resourcetype: () => '<D:resourcetype><D:collection/></D:resourcetype>',
      displayname: () => '<D:displayname>labd</D:displayname>',
    };
    const { found, missing } = pick(root, asked);
    return multistatus([response('/dav/', found, missing)]);
  });

  const principalPropfind = guarded(async (req, who) => {
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

  const bookPropfind = guarded(async (req, who) => {
    const asked = requestedProps(parseXml(await req.readBody(MAX_XML_BYTES)).propfind as Xml | undefined);
    const b = pick(await bookProps(who), asked);
    const parts = [response(hrefPath(who.userName, 'contacts'), b.found, b.missing)];
    if (depthOf(req) !== '0') {
      for (const c of await store.all(who.userId))
        parts.push(
          await cardResponse(who.userId, who.userName, c, asked?.filter((a) => a !== 'address-data') ?? ['getetag', 'getcontenttype', 'resourcetype']),
        );
    }
    return multistatus(parts);
  });

  const cardPropfind = guarded(async (req, who) => {
    const asked = requestedProps(parseXml(await req.readBody(MAX_XML_BYTES)).propfind as Xml | undefined);
    const c = await store.getByHref(who.userId, req.params.card!);
    if (!c) return plain(404, 'not found');
    return multistatus([await cardResponse(who.userId, who.userName, c, asked)]);
  });

  const bookReport = guarded(async (req, who) => {
    const doc = parseXml(await req.readBody(MAX_XML_BYTES));
    if (doc['addressbook-multiget']) {
      const q = doc['addressbook-multiget'] as Xml;
      const asked = requestedProps(q);
      const hrefs = ((q.href as unknown[]) ?? []).map(String);
      if (hrefs.length > MAX_MULTIGET) throw new UsageError(`at most ${MAX_MULTIGET} hrefs per multiget`);
      const parts: string[] = [];
      const base = hrefPath(who.userName, 'contacts');
      for (const h of hrefs) {
        let name: string | undefined;
        try {
          const path = new URL(h, 'http://labd.invalid').pathname;
          if (path.startsWith(base)) name = decodeURIComponent(path.slice(base.length));
        } catch {
          name = undefined;
        }
        const c = name ? await store.getByHref(who.userId, name) : undefined;
        if (c) parts.push(await cardResponse(who.userId, who.userName, c, asked));
        else parts.push(`<D:response><D:href>${xmlEscape(h)}</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>`);
      }
      return multistatus(parts);
    }
    if (doc['sync-collection']) {
      const q = doc['sync-collection'] as Xml;
      const asked = requestedProps(q);
      const token = String(q['sync-token'] ?? '').trim();
      let since = 0;
      if (token) {
        if (!token.startsWith(SYNC_PREFIX) || !/^\d+$/.test(token.slice(SYNC_PREFIX.length))) return davError(403, 'D', 'valid-sync-token');
        since = Number(token.slice(SYNC_PREFIX.length));
        if (since > (await store.revision(who.userId))) return davError(403, 'D', 'valid-sync-token');
      }
      const changes = await store.changesSince(who.userId, since);
      const parts: string[] = [];
      for (const c of changes.changed) parts.push(await cardResponse(who.userId, who.userName, c, asked));
      // A first sync (no token) lists what is there; later ones also what went.
      if (since > 0)
        for (const href of changes.removed)
          if (!changes.changed.some((c) => c.href === href))
            parts.push(`<D:response><D:href>${xmlEscape(cardPath(who.userName, href))}</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>`);
      return multistatus(parts, `<D:sync-token>${SYNC_PREFIX}${changes.rev}</D:sync-token>`);
    }
    if (doc['addressbook-query']) {
      const q = doc['addressbook-query'] as Xml;
      const asked = requestedProps(q);
      const filter = (q.filter ?? {}) as Xml;
      const limit = Number(((q.limit as Xml | undefined)?.nresults as string | undefined) ?? 0) || Infinity;
      const parts: string[] = [];
      for (const c of await store.all(who.userId)) {
        if (parts.length >= limit) break;
        if (matchesFilter(contactToVCard(c), filter)) parts.push(await cardResponse(who.userId, who.userName, c, asked));
      }
      return multistatus(parts);
    }
    return davError(403, 'D', 'supported-report');
  });

  const cardGet = guarded(async (req, who) => {
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

  const cardPut = guarded(async (req, who) => {
    const name = req.params.card!;
    if (name.length > 255 || /[/\\\x00-\x1f]/.test(name)) return plain(400, 'bad resource name');
    const body = await req.readBody(MAX_CARD_BYTES);
    const cards = parseVCards(body.toString('utf8'), deps.region);
    if (cards.length !== 1) return davError(403, 'C', 'valid-address-data');
    const incoming = cards[0]!;
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
      );
      return { status: 204, headers: { etag: etagOf(updated) }, body: '' };
    }
    if (ifMatch !== undefined) return plain(412, 'no card at this address: nothing was written');
    if (await store.getByUid(who.userId, incoming.data.uid)) return davError(409, 'C', 'no-uid-conflict');
    const created = await store.create(who.userId, incoming.data, name);
    if (incoming.related.length) await importCards(store, who.userId, [{ data: incoming.data, related: incoming.related }]);
    const fresh = (await store.get(who.userId, created.id))!;
    log.debug({ user: who.userName, card: name }, 'carddav card created');
    return { status: 201, headers: { etag: etagOf(fresh), location: cardPath(who.userName, name) }, body: '' };
  }, 'carddav put');

  const cardDelete = guarded(async (req, who) => {
    req.discardBody();
    const c = await store.getByHref(who.userId, req.params.card!);
    if (!c) return plain(404, 'not found');
    const ifMatch = req.header('if-match');
    if (ifMatch !== undefined && ifMatch.trim() !== '*' && revOf(ifMatch) !== c.rev)
      return plain(412, 'the card changed since you read it (ETag does not match): nothing was removed');
    await store.remove(who.userId, c.id, ifMatch !== undefined && ifMatch.trim() !== '*' ? c.rev : undefined);
    return { status: 204, body: '' };
  }, 'carddav delete');

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
  return routes;
}

/** An HTTP status as a command outcome (the words audit rows and metrics use). */
function outcomeOf(status: number): string {
  if (status < 300) return 'ok';
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

/** RFC 6352 §10.5 filters: prop-filter (anyof/allof), text-match (contains, equals, starts-with, ends-with; negate), is-not-defined. */
export function matchesFilter(vcard: string, filter: Xml): boolean {
  const propFilters = (filter['prop-filter'] as Xml[] | undefined) ?? [];
  if (!propFilters.length) return true;
  const jcard = ICAL.parse(vcard) as unknown as [string, [string, Record<string, unknown>, string, ...unknown[]][]];
  const props = jcard[1];
  const test = (list: Xml[], allof: boolean, one: (x: Xml) => boolean) => (allof ? list.every(one) : list.some(one));
  return test(propFilters, filter['@_test'] === 'allof', (pf) => {
    const name = String(pf['@_name'] ?? '').toLowerCase();
    const values = props.filter((p) => p[0] === name).map((p) => p.slice(3).flat().map(String).join(' '));
    if ('is-not-defined' in pf) return values.length === 0;
    const matches = (pf['text-match'] as (Xml | string)[] | undefined) ?? [];
    if (!matches.length) return values.length > 0;
    return test(
      matches.map((m) => (typeof m === 'string' ? { '#text': m } : m)),
      pf['@_test'] === 'allof',
      (tm) => {
        const needle = String(tm['#text'] ?? '').toLowerCase();
        const type = String(tm['@_match-type'] ?? 'contains');
        const hit = values.some((v) => {
          const hay = v.toLowerCase();
          return type === 'equals'
            ? hay === needle
            : type === 'starts-with'
              ? hay.startsWith(needle)
              : type === 'ends-with'
                ? hay.endsWith(needle)
                : hay.includes(needle);
        });
        return tm['@_negate-condition'] === 'yes' ? !hit : hit;
      },
    );
  });
}
