/**
 * Syntax highlighting for the paste page and the git blob and commit pages, bounded so no request
 * can hold the event loop: highlight.js runs in a worker thread with a deadline (pool.ts), inputs
 * above a size cap are not even tried, a full queue answers at once, and results (plain ones from
 * a time-out too) are cached by content hash and language. Whatever goes wrong, the page gets the
 * text escaped and unhighlighted.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Logger } from '../logger.ts';
import { html, trustedHtml, type SafeHtml } from '../html.ts';
import { BoundedLru } from './cache.ts';
import { HighlightPool, type PoolOutcome } from './pool.ts';

export interface HighlightOptions {
  /** Above this many characters, plain text without trying. */
  maxBytes: number;
  /** Worker threads highlighting at once. */
  workers: number;
  /** Requests waiting for a worker; beyond them, plain text at once. */
  maxQueue: number;
  /** A worker's time for one input; past it the worker is replaced and the page is plain. */
  timeoutMs: number;
  /** Highlighted markup kept in the cache (summed). */
  cacheBytes: number;
}

export interface Highlighted {
  html: SafeHtml;
  /** The `language-…` class: the extension highlight.js took, or plaintext. */
  language: string;
}

export interface Highlighter {
  /** `name` picks the language by its extension only (no guessing from content). */
  highlight(name: string, text: string): Promise<Highlighted>;
  /** Workers started so far and alive now (figures for tests and the bench). */
  stats(): { started: number; alive: number; cached: number };
  close(): Promise<void>;
}

/** An idle worker ends after this: highlight.js's ~15 MB heap is not kept for a lab that serves few pages. */
const WORKER_IDLE_MS = 60_000;
const CACHE_ENTRIES = 1000;

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

const plain = (text: string): Highlighted => ({ html: html`${text}`, language: 'plaintext' });

export function createHighlighter(o: HighlightOptions, log: Logger): Highlighter {
  const pool = new HighlightPool({
    highlightJs: createRequire(import.meta.url).resolve('highlight.js'),
    workers: o.workers,
    maxQueue: o.maxQueue,
    timeoutMs: o.timeoutMs,
    idleMs: WORKER_IDLE_MS,
  });
  /** Markup by content hash + language; null: shown plain (unknown language, timed out, failed). */
  const cache = new BoundedLru<string | null>(CACHE_ENTRIES, o.cacheBytes);
  /** The same page asked for many times at once is highlighted once. */
  const inFlight = new Map<string, Promise<PoolOutcome>>();

  const outcomeFor = (key: string, text: string, language: string): Promise<PoolOutcome> => {
    let running = inFlight.get(key);
    if (!running) {
      running = pool.run(text, language).finally(() => inFlight.delete(key));
      inFlight.set(key, running);
    }
    return running;
  };

  return {
    async highlight(name, text) {
      const language = extensionOf(name);
      if (!language || !/^[a-z0-9+_-]{1,32}$/.test(language) || text.length > o.maxBytes) return plain(text);
      const key = `${language}:${createHash('sha256').update(text).digest('base64')}`;
      const cached = cache.get(key);
      if (cached !== undefined) return cached === null ? plain(text) : { html: trustedHtml(cached), language };
      const outcome = await outcomeFor(key, text, language);
      if (outcome.kind === 'html') {
        cache.set(key, outcome.html, outcome.html.length);
        return { html: trustedHtml(outcome.html), language };
      }
      // "busy" says nothing about the input: it may highlight fine when the queue is shorter.
      if (outcome.reason !== 'busy') cache.set(key, null, 64);
      if (outcome.reason === 'timeout')
        log.warn({ name, language, chars: text.length, timeoutMs: o.timeoutMs }, 'highlighting took too long: shown as plain text');
      return plain(text);
    },
    stats: () => ({ started: pool.started, alive: pool.alive, cached: cache.size }),
    close: () => pool.close(),
  };
}
