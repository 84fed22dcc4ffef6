/**
 * The CRM screen (`ssh -t HOST crm`, or Contacts on the home menu): a list that filters as you
 * type (after /), a detail pane, add and edit forms with the error next to its field, and quick
 * keys for a note, a meeting, tags and delete. Every action is a `crm …` command through the
 * registry, so the rules (own book only, validation, audit) are the commands' own.
 */
import type { Widgets } from 'blessed';
import { blessed } from '../../ssh/tui/blessed.ts';
import { stringWidth } from '../../core/string-width.ts';
import { publicMessage } from '../../core/errors.ts';
import { stripControl } from '../../core/terminal-text.ts';
import type { TuiApp, TuiScreenContext } from '../../ssh/tui/apps.ts';
import { StatusLine } from '../../ssh/tui/status-line.ts';
import { promptDialog } from '../../ssh/tui/dialog.ts';
import type { KeyHint } from '../../ssh/tui/keys.ts';
import { bindListKeys, ListFilter, listHints } from '../../ssh/tui/list-keys.ts';
import { recordText } from '../../ssh/tui/widgets.ts';
import { wrapInto } from '../../ssh/tui/wrap.ts';
import type { z } from 'zod';
import { crmAdd, crmDue, crmEdit, crmLs, crmMet, crmNote, crmRm, crmShow, crmTag, type ContactJson } from './commands.ts';
import { checkEmail, normaliseBirthday, normaliseTag } from './model.ts';

interface Row {
  id: number;
  name: string;
  emails: string[];
  phones: string[];
  tags: string[];
}

interface Field {
  key: string;
  label: string;
  value: string;
  /** A problem with the value, shown next to the field. */
  error?: string;
  check?(v: string): string | undefined;
}

const catchError = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return publicMessage(err);
  }
};

/** Pads to a display width (CJK characters take two columns), cutting what does not fit. */
function fit(text: string, width: number): string {
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = stringWidth(ch);
    if (w + cw > width) break;
    out += ch;
    w += cw;
  }
  return out + ' '.repeat(Math.max(0, width - w));
}

export const crmTuiApp: TuiApp = {
  id: 'crm',
  title: 'Contacts',
  description: 'your personal CRM: people, notes, who to catch up with',
  permission: 'crm',
  open(ctx) {
    return new CrmScreen(ctx);
  },
  // The app's line on the home menu: "3 people to catch up with" (overdue or due today).
  async count({ invoke, mayRun }) {
    if (!mayRun(crmDue.path)) return undefined;
    const result = await invoke(crmDue, { days: 0 });
    const ids = new Set(result.json.filter((d) => d.kind === 'overdue' || d.inDays === 0).map((d) => d.id));
    return ids.size ? `${ids.size} ${ids.size === 1 ? 'person' : 'people'} to catch up with` : undefined;
  },
};

class CrmScreen {
  private readonly filterLine: Widgets.BoxElement;
  private readonly list: Widgets.ListElement;
  private readonly detail: Widgets.BoxElement;
  /** The detail pane's text, wrapped at words for its width. */
  private readonly setDetail: (text: string) => void;
  private readonly line: StatusLine;
  private rows: Row[] = [];
  private readonly filter: ListFilter;
  private dueView = false;
  private searchSeq = 0;
  private form: { box: Widgets.BoxElement; pop: () => void } | undefined;

  constructor(private readonly ctx: TuiScreenContext) {
    this.filterLine = blessed.box({ parent: ctx.parent, top: 0, left: 1, right: 1, height: 1, tags: false, style: ctx.theme.title });
    this.list = blessed.list({
      parent: ctx.parent,
      top: 2,
      left: 1,
      width: '45%',
      bottom: 1,
      keys: true,
      vi: false,
      tags: false,
      items: [],
      style: { selected: ctx.theme.selected },
    });
    this.detail = blessed.box({
      parent: ctx.parent,
      top: 2,
      left: '47%',
      right: 1,
      bottom: 1,
      tags: false,
      scrollable: true,
      border: { type: 'line' },
      style: { border: ctx.theme.border },
    });
    this.setDetail = wrapInto(this.detail, '');
    this.line = new StatusLine(ctx);
    // Before the screen's own keys: while a filter is typed, they are text.
    this.filter = new ListFilter(ctx, this.list, {
      changed: (_text, typing) => {
        if (typing) this.dueView = false;
        this.setKeys();
        this.drawFilter();
        this.guard(() => this.load());
      },
      keys: () => this.keys(),
      enabled: () => !this.form,
    });
    bindListKeys(this.list, { paused: () => this.filter.active || !!this.form });
    this.setKeys();
    this.list.on('select item', () => this.guard(() => this.showDetail()));
    this.list.on('keypress', (ch: string | undefined, key: { name: string; full: string }) => this.onKey(ch, key));
    this.list.focus();
    this.drawFilter();
    this.guard(() => this.load());
  }

  destroy(): void {
    this.form?.box.destroy();
  }

  private keys(): KeyHint[] {
    if (this.filter?.active)
      return [
        { keys: ['type'], label: 'filter', help: 'every key searches names, emails, phones, tags and notes' },
        { keys: ['enter'], label: 'done' },
      ];
    const { move, more } = listHints(this.ctx.theme);
    return [
      move,
      { keys: ['/'], label: 'search', help: 'filter the list as you type, enter to keep it; esc clears it' },
      { keys: ['a'], label: 'add', help: 'add a contact (a form)' },
      { keys: ['e'], label: 'edit', help: 'edit the selected contact (a form)' },
      { keys: ['n'], label: 'note', help: 'add a dated note' },
      { keys: ['m'], label: 'met', help: 'record that you met (or called, messaged, wrote): sets last contacted' },
      { keys: ['t'], label: 'tag', help: 'change tags: +tag adds, -tag removes' },
      { keys: ['d'], label: 'delete', help: 'delete the contact, after a confirmation' },
      { keys: ['u'], label: this.dueView ? 'all' : 'due', help: 'toggle the list of people due (overdue, birthdays in 14 days)' },
      ...more,
    ];
  }

  private setKeys(): void {
    this.ctx.setKeys(this.keys());
  }

  private get gone(): boolean {
    return this.ctx.signal.aborted;
  }

  private guard(fn: () => Promise<void>): void {
    this.line.guard(fn);
  }

  private say(text: string, error = false): void {
    this.line.say(text, error);
  }

  private drawFilter(): void {
    const view = this.dueView ? 'Due: overdue and birthdays in 14 days' : 'Contacts';
    const typing = this.filter.active;
    this.filterLine.setContent(typing || this.filter.value ? `${view}   / ${stripControl(this.filter.value)}${typing ? '_' : ''}` : `${view}   (/ to search)`);
    this.ctx.screen.render();
  }

  private selected(): Row | undefined {
    return this.rows[(this.list as unknown as { selected: number }).selected];
  }

  private onKey(ch: string | undefined, key: { name: string; full: string }): void {
    if (this.form || this.filter.active) return;
    const c = this.selected();
    switch (key.full) {
      case 'a':
        return this.openForm(undefined);
      case 'e':
        if (c) this.guard(() => this.editForm(c));
        return;
      case 'n':
        if (c)
          this.guard(() =>
            this.prompt(c, 'note', `Note on ${c.name}:`, (text) => this.ctx.invoke(crmNote, { contact: String(c.id), text: text.split(/\s+/) })),
          );
        return;
      case 'm':
        if (c)
          this.guard(() =>
            this.prompt(c, 'met', `You met ${c.name}. What about? (call: / message: / wrote: first for those)`, (text) =>
              this.ctx.invoke(crmMet, this.metArgs(c, text)),
            ),
          );
        return;
      case 't':
        if (c)
          this.guard(() =>
            this.prompt(c, 'tag', `Tags of ${c.name} (${c.tags.join(' ') || 'none'}): +add -remove`, (text) =>
              this.ctx.invoke(crmTag, { contact: String(c.id), changes: text.split(/\s+/).filter(Boolean) }),
            ),
          );
        return;
      case 'd':
        if (c) this.guard(() => this.remove(c));
        return;
      case 'u':
        this.dueView = !this.dueView;
        this.setKeys();
        this.drawFilter();
        this.guard(() => this.load());
        return;
    }
  }

  private metArgs(c: Row, text: string): z.input<typeof crmMet.args> {
    const m = /^(call|message|wrote|write|meet):\s*/i.exec(text);
    const via = m ? (m[1]!.toLowerCase() === 'wrote' ? 'write' : m[1]!.toLowerCase()) : 'meet';
    return { contact: String(c.id), via, text: (m ? text.slice(m[0].length) : text).split(/\s+/).filter(Boolean) };
  }

  private async load(): Promise<void> {
    const seq = ++this.searchSeq;
    let rows: Row[];
    if (this.dueView) {
      const due = (await this.ctx.invoke(crmDue, { days: 14 })).json;
      rows = due.map((d) => ({ id: d.id, name: d.name, emails: [d.why], phones: [], tags: [] }));
    } else {
      const result = await this.ctx.invoke(crmLs, { query: this.filter.value.split(/\s+/).filter(Boolean), limit: 500 });
      rows = result.json;
    }
    // A slower answer to an older keystroke never replaces a newer one.
    if (this.gone || seq !== this.searchSeq) return;
    this.rows = rows;
    const width = Math.max(10, Math.floor(((this.list.width as number) || 36) - 2));
    const nameWidth = Math.min(Math.max(...rows.map((r) => stringWidth(stripControl(r.name))), 8), Math.floor(width * 0.6));
    this.list.setItems(rows.map((r) => `${fit(stripControl(r.name), nameWidth)} ${stripControl(r.emails[0] ?? r.phones[0] ?? '')}`) as never);
    this.list.select(0);
    this.say(
      rows.length
        ? `${rows.length} ${this.dueView ? 'due' : rows.length === 1 ? 'contact' : 'contacts'}`
        : this.dueView
          ? 'nobody due'
          : this.filter.value
            ? 'no contacts match'
            : 'no contacts yet: a to add one, or ssh HOST crm import < contacts.vcf',
    );
    await this.showDetail();
  }

  private async showDetail(): Promise<void> {
    const c = this.selected();
    if (!c) {
      this.setDetail('');
      this.ctx.screen.render();
      return;
    }
    const result = await this.ctx.invoke(crmShow, { contact: [String(c.id)] });
    if (this.gone || this.selected()?.id !== c.id) return;
    this.setDetail(stripControl(recordText(result)));
    this.detail.setScroll(0);
    this.ctx.screen.render();
  }

  private async prompt(c: Row, what: string, question: string, send: (text: string) => Promise<{ text: string }>): Promise<void> {
    const text = await promptDialog(this.ctx.screen, question, this.ctx.theme);
    if (this.gone) return;
    this.list.focus();
    if (text === null || !text.trim()) return this.say(`no ${what}`);
    const result = await send(text.trim());
    if (this.gone) return;
    await this.refreshKeepingSelection(c.id);
    this.say(result.text);
  }

  private async refreshKeepingSelection(id: number): Promise<void> {
    await this.load();
    const i = this.rows.findIndex((r) => r.id === id);
    if (i >= 0) {
      this.list.select(i);
      await this.showDetail();
    }
  }

  private async remove(c: Row): Promise<void> {
    const yes = await this.ctx.confirm(`Delete ${c.name}?`);
    if (this.gone) return;
    this.list.focus();
    if (!yes) return this.say('kept');
    const result = await this.ctx.invoke(crmRm, { contact: String(c.id) }, { confirmed: true });
    if (this.gone) return;
    await this.load();
    this.say(result.text);
  }

  private async editForm(c: Row): Promise<void> {
    const result = await this.ctx.invoke(crmShow, { contact: [String(c.id)] });
    if (this.gone) return;
    this.openForm(result.json);
  }

  /** The add (no contact) or edit form: Tab/Shift-Tab (or ↑/↓) between fields, Enter saves, Esc cancels. */
  private openForm(current: ContactJson | undefined): void {
    const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));
    const fields: Field[] = [
      { key: 'name', label: 'Name', value: str(current?.name), check: (v) => (v.trim() ? undefined : 'a contact needs a name') },
      {
        key: 'email',
        label: 'Email',
        value: current ? fieldValue(current, 'email') : '',
        check: (v) =>
          v
            .split(',')
            .map((e) => e.trim())
            .filter(Boolean)
            .map((e) => catchError(() => checkEmail(e)))
            .find(Boolean),
      },
      {
        key: 'phone',
        label: 'Phone',
        value: current ? fieldValue(current, 'phone') : '',
        check: (v) => (v.split(',').some((p) => p.trim() && !/\d/.test(p)) ? 'a phone number has digits' : undefined),
      },
      { key: 'company', label: 'Company', value: str(current?.company) },
      {
        key: 'birthday',
        label: 'Birthday',
        value: current ? fieldValue(current, 'birthday') : '',
        check: (v) => (v.trim() ? catchError(() => normaliseBirthday(v)) : undefined),
      },
      {
        key: 'stayInTouch',
        label: 'Every N days',
        value: current ? fieldValue(current, 'stayInTouch') : '',
        check: (v) => (v.trim() && !/^\d{1,4}$/.test(v.trim()) ? 'a number of days' : undefined),
      },
      ...(current
        ? []
        : [
            {
              key: 'tag',
              label: 'Tags',
              value: '',
              check: (v: string) =>
                v
                  .split(/[\s,]+/)
                  .filter(Boolean)
                  .map((t) => catchError(() => normaliseTag(t)))
                  .find(Boolean),
            },
          ]),
    ];
    let focus = 0;
    const title = current ? `Edit ${str(current.name)}` : 'New contact';
    const box = blessed.box({
      parent: this.ctx.parent,
      top: 1,
      left: 'center',
      width: Math.min(76, Math.max((this.ctx.screen.width as number) - 2, 40)),
      height: fields.length * 2 + 4,
      border: { type: 'line' },
      label: ` ${title} `,
      tags: false,
      keys: true,
      style: { border: this.ctx.theme.border },
    });
    const lines = fields.map((_, i) => blessed.box({ parent: box, top: i * 2, left: 1, right: 1, height: 2, tags: false }));
    blessed.text({
      parent: box,
      bottom: 0,
      left: 1,
      right: 1,
      height: 1,
      tags: false,
      style: this.ctx.theme.dim,
      content: 'tab/shift-tab: field   enter: save   esc: cancel',
    });
    const draw = () => {
      fields.forEach((f, i) => {
        const cursor = i === focus ? '_' : '';
        lines[i]!.setContent(`${fit(f.label + ':', 14)}${stripControl(f.value)}${cursor}\n${f.error ? `  ! ${stripControl(f.error)}` : ''}`);
        lines[i]!.style = i === focus ? { ...this.ctx.theme.selected } : f.error ? { ...this.ctx.theme.error } : {};
      });
      this.ctx.screen.render();
    };
    const close = () => {
      this.form?.pop();
      box.destroy();
      this.form = undefined;
      this.list.focus();
      this.ctx.screen.render();
    };
    let saving = false;
    const save = async () => {
      // Terminals may send Enter as both return and enter: one save per press.
      if (saving) return;
      saving = true;
      try {
        await saveOnce();
      } finally {
        saving = false;
      }
    };
    const saveOnce = async () => {
      let bad = false;
      for (const f of fields) {
        f.error = f.check?.(f.value);
        if (f.error) bad = true;
      }
      if (bad) {
        focus = fields.findIndex((f) => f.error);
        draw();
        return;
      }
      // The fields that changed (all that are filled in, for a new contact), as the commands' typed arguments.
      const edits: { email?: string[]; phone?: string[]; company?: string; birthday?: string; stayInTouch?: string; name?: string } = {};
      let tags: string[] = [];
      for (const f of fields) {
        if (!current && f.key === 'name') continue;
        const v = f.value.trim();
        if (current ? v === fieldValue(current, f.key) : !v) continue;
        if (f.key === 'tag') tags = v.split(/[\s,]+/).filter(Boolean);
        else if (f.key === 'email' || f.key === 'phone')
          edits[f.key] = v
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean);
        else edits[f.key as 'name' | 'company' | 'birthday' | 'stayInTouch'] = v || 'none';
      }
      if (current && !Object.keys(edits).length) return close();
      try {
        const { name: _name, ...added } = edits;
        const result = current
          ? await this.ctx.invoke(crmEdit, { contact: String(current.id), ...edits })
          : await this.ctx.invoke(crmAdd, { ...added, name: fields[0]!.value.trim().split(/\s+/), tag: tags });
        if (this.gone) return;
        close();
        const id = result.json.id ?? current?.id;
        if (id !== undefined) await this.refreshKeepingSelection(id);
        this.say(current ? `saved ${fields[0]!.value}` : `added ${fields[0]!.value}`);
      } catch (err) {
        // The command's own check: put its message next to the field it names.
        const message = publicMessage(err);
        const named = fields.findIndex(
          (f) =>
            message.includes(`--${f.key === 'stayInTouch' ? 'stay-in-touch' : f.key}`) ||
            (f.key === 'email' && /email/.test(message)) ||
            (f.key === 'phone' && /phone/.test(message)),
        );
        const at = named >= 0 ? named : 0;
        fields[at]!.error = message;
        focus = at;
        draw();
      }
    };
    box.on('keypress', (ch: string | undefined, key: { name: string; full: string; shift?: boolean }) => {
      const f = fields[focus]!;
      if (key.name === 'escape') return close();
      if (key.full === 'S-tab' || key.name === 'up') focus = (focus + fields.length - 1) % fields.length;
      else if (key.name === 'tab' || key.name === 'down') focus = (focus + 1) % fields.length;
      else if (key.name === 'enter' || key.name === 'return') return void save();
      else if (key.name === 'backspace') f.value = f.value.slice(0, -1);
      else if (ch && !/^[\x00-\x1f\x7f]$/.test(ch)) {
        f.value += ch;
        f.error = undefined;
      } else return;
      draw();
    });
    this.form = {
      box,
      pop: this.ctx.pushLevel({
        title,
        keys: [
          { keys: ['tab', 'S-tab'], label: 'field' },
          { keys: ['enter'], label: 'save' },
        ],
        back: close,
      }),
    };
    box.focus();
    draw();
  }
}

/** What a form field shows of a contact (and compares with, to send only what changed). */
function fieldValue(c: ContactJson, key: string): string {
  switch (key) {
    case 'name':
      return c.name;
    case 'email':
      return c.emails.map((x) => x.value).join(', ');
    case 'phone':
      return c.phones.map((x) => x.value).join(', ');
    case 'company':
      return c.company ?? '';
    case 'birthday':
      return (c.birthday ?? '').replace(/^--/, '');
    case 'stayInTouch':
      return c.stayInTouchDays === null ? '' : String(c.stayInTouchDays);
    default:
      return '';
  }
}
