/**
 * The keys every list and table takes, as k9s and less users expect them: ↑/↓ and j/k move, g/G go
 * to the first/last row, PgUp/PgDn (and Home/End) page, `/` filters, and Escape first clears a
 * filter and only then leaves. Bound here once; screens only say what their rows are.
 */
import type { Widgets } from 'blessed';
import type { TuiScreenContext } from './apps.ts';
import { WORDS, type KeyHint } from './keys.ts';
import type { Theme } from './theme.ts';

/** Longest filter kept (it is typed by a person; anything longer is a paste gone wrong). */
const MAX_FILTER = 100;

interface ListState {
  selected: number;
  items: unknown[];
}

/**
 * Binds j/k, g/G, PgUp/PgDn and Home/End on a blessed list (its own `keys` give ↑/↓ and Enter).
 * `paused`: the keys are text meanwhile (a filter or a form being typed).
 */
export function bindListKeys(list: Widgets.ListElement, o: { paused?: () => boolean } = {}): void {
  const state = list as unknown as ListState;
  const page = () => Math.max(1, (list.height as number) - (list.iheight as number) - 1);
  const go = (index: number) => {
    if (o.paused?.() || !state.items.length) return;
    list.select(Math.max(0, Math.min(state.items.length - 1, index)));
    list.screen.render();
  };
  list.key(['j'], () => go(state.selected + 1));
  list.key(['k'], () => go(state.selected - 1));
  list.key(['g', 'home'], () => go(0));
  list.key(['S-g', 'end'], () => go(state.items.length - 1));
  list.key(['pagedown'], () => go(state.selected + page()));
  list.key(['pageup'], () => go(state.selected - page()));
}

/** The move keys of a list, for its footer and `?` help (the first goes first, the rest after the screen's own). */
export function listHints(theme: Theme, o: { filter?: boolean } = {}): { move: KeyHint; more: KeyHint[] } {
  return {
    move: { keys: [theme.glyphs.upDown, 'j', 'k'], label: WORDS.move, help: 'move the selection' },
    more: [
      ...(o.filter ? [{ keys: ['/'], label: 'filter', help: 'type to filter the rows, enter to keep it; esc clears it' }] : []),
      { keys: ['g', 'S-g'], label: 'first/last', help: 'go to the first / last row' },
      { keys: ['pgup', 'pgdn'], label: 'page', help: 'move one page up / down' },
    ],
  };
}

/**
 * A filter typed on a list: `/` starts it, every key then edits it (the screen's keys and q and ?
 * are text meanwhile), Enter keeps it, Escape while typing drops it. A kept filter is a level of
 * the session, so the next Escape clears it and only the one after that leaves the screen.
 */
export class ListFilter {
  private text = '';
  private typing = false;
  private pop: (() => void) | undefined;

  constructor(
    private readonly ctx: Pick<TuiScreenContext, 'screen' | 'pushLevel'>,
    private readonly list: Widgets.ListElement,
    private readonly o: {
      /** The filter changed (every key while typing): show the rows that match. */
      changed(text: string, typing: boolean): void;
      /** The keys shown while a filter is kept (the list's own, and esc to clear). */
      keys(): KeyHint[];
      /** Whether `/` may start a filter now (no pane over the list). */
      enabled?(): boolean;
    },
  ) {
    list.on('keypress', (ch: string | undefined, key: Widgets.Events.IKeyEventArg) => this.onKey(ch, key));
  }

  /** Keys are text now: list actions must not run. */
  get active(): boolean {
    return this.typing;
  }

  get value(): string {
    return this.text;
  }

  /** Whether `text` matches the filter (case-insensitive substring; everything matches no filter). */
  matches(text: string): boolean {
    return !this.text || text.toLowerCase().includes(this.text.toLowerCase());
  }

  /** Drops the filter (Escape on a kept filter, or the screen going away). */
  clear(): void {
    this.typing = false;
    this.ctx.screen.grabKeys = false;
    this.text = '';
    this.unlevel();
    this.o.changed('', false);
  }

  private unlevel(): void {
    const pop = this.pop;
    this.pop = undefined;
    pop?.();
  }

  private start(): void {
    this.typing = true;
    // The screen's own keys (q, ?, Escape) are text while the filter is typed.
    this.ctx.screen.grabKeys = true;
    this.o.changed(this.text, true);
  }

  private onKey(ch: string | undefined, key: Widgets.Events.IKeyEventArg): void {
    if (!this.typing) {
      if (key.full === '/' && this.o.enabled?.() !== false) this.start();
      return;
    }
    if (key.name === 'escape') return this.clear();
    if (key.name === 'enter' || key.name === 'return') {
      this.typing = false;
      this.ctx.screen.grabKeys = false;
      this.unlevel();
      if (this.text) this.pop = this.ctx.pushLevel({ title: `/${this.text}`, keys: this.o.keys(), back: () => this.clear() });
      this.o.changed(this.text, false);
      return;
    }
    if (key.name === 'backspace') this.text = this.text.slice(0, -1);
    else if (ch && !/[\x00-\x1f\x7f]/.test(ch) && this.text.length < MAX_FILTER) this.text += ch;
    else return;
    this.o.changed(this.text, true);
  }
}
