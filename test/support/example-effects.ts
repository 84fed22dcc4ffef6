/**
 * What each README and `--help` example says it does, checked after it ran (issue #23 point 3): an
 * example that exits 0 but stores the wrong thing (`--phone "+44 20 7946 0958"` once made a contact
 * named "Test Person 20 7946 0958" with phone `+44`) fails here. Each entry matches example lines
 * (comments stripped) and asks labd, through the same shell and ssh, for the state the line's
 * comment promises. test/examples.test.ts requires an entry (or a refusal mark) for every example
 * of a command that changes data.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ShellResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** What a check may do: run a line as the examples ran (same shell, same ssh), read a file in the shell's home. */
export interface ExampleShell {
  run(line: string): ShellResult;
  home: string;
}

/** An example's run: the line as it was run (after any rewriting) and what it answered. */
export interface Ran extends ShellResult {
  line: string;
}

export interface ExampleEffect {
  line: RegExp;
  check(sh: ExampleShell, ran: Ran): void;
}

function ok(sh: ExampleShell, line: string): ShellResult {
  const r = sh.run(line);
  assert.equal(r.status, 0, `${line}\n${r.stderr}`);
  return r;
}

function json<T>(sh: ExampleShell, line: string): T {
  return JSON.parse(ok(sh, `${line} --json`).stdout) as T;
}

interface Contact {
  id: number;
  name: string;
  emails: { value: string }[];
  phones: { value: string; e164?: string }[];
  tags: string[];
  company: string | null;
  birthday: string | null;
  stayInTouchDays: number | null;
  lastContactedAt: string | null;
  links: { id: number; relation: string }[];
  interactions?: { kind: string; note: string; at: string }[];
}

const contact = (sh: ExampleShell, who: string) => json<Contact>(sh, `ssh HOST crm show ${who}`);
const missing = (sh: ExampleShell, line: string, why: string) => {
  const r = sh.run(line);
  assert.equal(r.status, 4, `${why}: ${line}\n${r.stdout}${r.stderr}`);
};
/** The contact id an example names (12, 14), as the line has it after any rewriting. */
const idIn = (ran: string, re: RegExp) => Number(re.exec(ran)?.[1]);

/** The README's and --help's examples, by line. `ran` is the command's own answer. */
export const EXAMPLE_EFFECTS: ExampleEffect[] = [
  // Accounts.
  {
    line: /user add (\w+) --role (\w+) < \w+\.pub$/,
    check(sh, ran) {
      const [, name, role] = /user add (\w+) --role (\w+)/.exec(ran.line)!;
      const user = json<{ name: string; role: string; keys: number }[]>(sh, 'ssh HOST user ls').find((u) => u.name === name);
      assert.deepEqual([user?.role, user?.keys], [role, 1], `${name}: a user and the key they log in with`);
    },
  },
  {
    line: /keys add --user carol < carol-laptop\.pub$/,
    check(sh) {
      const carol = json<{ name: string; keys: number }[]>(sh, 'ssh HOST user ls').find((u) => u.name === 'carol');
      assert.equal(carol?.keys, 2, 'another key for carol');
    },
  },
  {
    line: /invite create --role member --expires 7d for carol$/,
    check(sh, ran) {
      assert.match(ran.stdout, /^inv-\S+$/m, 'prints the code once');
      const invites = json<{ role: string; note: string; expires: string; state: string }[]>(sh, 'ssh HOST invite ls');
      const it = invites.find((i) => i.note === 'for carol');
      assert.ok(it, JSON.stringify(invites));
      assert.deepEqual([it.role, it.state], ['member', 'active']);
      const days = (Date.parse(it.expires) - Date.now()) / 86_400_000;
      assert.ok(days > 6.9 && days <= 7, `expires in 7 days: ${it.expires}`);
    },
  },
  // Pastes.
  {
    line: /^cat notes\.md \| ssh .*paste notes\.md( --expires 7d)?$/,
    check(sh, ran) {
      assert.match(ran.stdout, /\/p\/\w+\/notes\.md/, 'prints the URL');
      assert.equal(ok(sh, 'ssh HOST paste cat notes.md').stdout, readFileSync(join(sh.home, 'notes.md'), 'utf8'));
    },
  },
  {
    line: /paste --expires 7d --hidden < log\.txt$/,
    check(sh, ran) {
      const url = /\/p\/\w+\/(\S+)/.exec(ran.stdout);
      assert.ok(url, ran.stdout);
      const name = url[1]!;
      assert.equal(ok(sh, `ssh HOST paste cat ${name}`).stdout, 'a log line\n');
      const listed = json<{ name: string }[]>(sh, 'ssh HOST paste ls').map((p) => p.name);
      assert.ok(!listed.includes(name), `hidden: left out of paste ls (${listed.join(', ')})`);
    },
  },
  {
    line: /paste rm notes\.md --yes$/,
    check(sh) {
      missing(sh, 'ssh HOST paste cat notes.md', 'removed');
    },
  },
  // Git.
  {
    line: /repo create dotfiles --description "'my dotfiles'"$/,
    check(sh) {
      assert.match(ok(sh, 'ssh HOST repo info dotfiles').stdout, /my dotfiles/);
    },
  },
  {
    line: /^git push ssh:\/\/HOST:2222\/dotfiles\.git main$/,
    check(sh) {
      assert.match(ok(sh, 'ssh HOST repo blob dotfiles zsh/zshrc').stdout, /EDITOR=vi/);
    },
  },
  {
    line: /repo private dotfiles true$/,
    check(sh) {
      assert.match(ok(sh, 'ssh HOST repo private dotfiles').stdout, /true|private/);
    },
  },
  {
    line: /repo description dotfiles new words here$/,
    check(sh) {
      assert.match(ok(sh, 'ssh HOST repo info dotfiles').stdout, /new words here/);
    },
  },
  {
    line: /repo collab add dotfiles bob read-write$/,
    check(sh) {
      assert.match(ok(sh, 'ssh HOST repo collab ls dotfiles').stdout, /bob\s+read-write/);
    },
  },
  {
    line: /repo collab rm dotfiles bob$/,
    check(sh) {
      assert.doesNotMatch(ok(sh, 'ssh HOST repo collab ls dotfiles').stdout, /bob/);
    },
  },
  {
    line: /repo rename dotfiles tools\/dotfiles ; .*repo rm tools\/dotfiles --yes$/,
    check(sh) {
      missing(sh, 'ssh HOST repo info tools/dotfiles', 'renamed, then removed');
      missing(sh, 'ssh HOST repo info dotfiles', 'renamed away');
    },
  },
  {
    line: /repo token create laptop --expires 90d$/,
    check(sh, ran) {
      assert.match(ran.stdout, /labd_git_/, 'printed once');
      const tokens = json<{ name: string; scope: string; expires: string }[]>(sh, 'ssh HOST token ls');
      const days = (t: { expires: string }) => (Date.parse(t.expires) - Date.now()) / 86_400_000;
      assert.ok(
        tokens.some((t) => t.name === 'laptop' && t.scope === 'git' && days(t) > 89 && days(t) <= 90),
        JSON.stringify(tokens),
      );
    },
  },
  {
    line: /token create --scope (carddav|git) --name (\w+)/,
    check(sh, ran) {
      const [, scope, name] = /token create --scope (\w+) --name (\w+)/.exec(ran.line)!;
      const tokens = json<{ name: string; scope: string }[]>(sh, 'ssh HOST token ls');
      assert.ok(
        tokens.some((t) => t.name === name && t.scope === scope),
        JSON.stringify(tokens),
      );
    },
  },
  {
    line: /token rm phone --yes$/,
    check(sh) {
      assert.ok(!json<{ name: string }[]>(sh, 'ssh HOST token ls').some((t) => t.name === 'phone'), 'revoked');
    },
  },
  // CRM.
  {
    line: /crm add Ada Lovelace --email ada@example\.org --phone \+44 20 7946 0958 --tag friends/,
    check(sh, ran) {
      // The contact the command just made: the newest Ada Lovelace (the --help example makes a second one).
      void ran;
      const adas = json<{ id: number; name: string }[]>(sh, 'ssh HOST crm ls Ada Lovelace').filter((a) => a.name === 'Ada Lovelace');
      assert.ok(adas.length, `no contact named exactly Ada Lovelace: ${ok(sh, 'ssh HOST crm ls').stdout}`);
      const c = contact(sh, String(Math.max(...adas.map((a) => a.id))));
      assert.equal(c.name, 'Ada Lovelace');
      assert.deepEqual(
        c.emails.map((e) => e.value),
        ['ada@example.org'],
      );
      assert.deepEqual(c.phones, [{ value: '+44 20 7946 0958', e164: '+442079460958' }]);
      assert.ok(c.tags.includes('friends'), c.tags.join(','));
    },
  },
  {
    line: /crm add < ada\.vcf$/,
    check(sh) {
      const c = contact(sh, 'Augusta Ada King');
      assert.deepEqual(
        c.emails.map((e) => e.value),
        ['augusta@example.org'],
      );
    },
  },
  {
    line: /crm edit (\d+) --company "'Analytical Engines'" --birthday 12-10 --stay-in-touch 30$/,
    check(sh, ran) {
      const c = contact(sh, String(idIn(ran.line, /crm edit (\d+)/)));
      assert.deepEqual([c.company, c.birthday, c.stayInTouchDays], ['Analytical Engines', '--12-10', 30]);
    },
  },
  {
    line: /crm note (\d+) moving to Lisbon in May$/,
    check(sh, ran) {
      const c = contact(sh, String(idIn(ran.line, /crm note (\d+)/)));
      assert.ok(
        c.interactions?.some((i) => i.note === 'moving to Lisbon in May'),
        JSON.stringify(c.interactions),
      );
    },
  },
  {
    line: /crm met (\d+) --via call --on 2026-03-01 talked about the trip$/,
    check(sh, ran) {
      const c = contact(sh, String(idIn(ran.line, /crm met (\d+)/)));
      assert.match(c.lastContactedAt ?? '', /^2026-03-01/, 'sets last contacted');
      assert.ok(
        c.interactions?.some((i) => i.kind === 'called' && i.note === 'talked about the trip'),
        JSON.stringify(c.interactions),
      );
    },
  },
  {
    line: /crm tag (\d+) \+climbing -work$/,
    check(sh, ran) {
      const c = contact(sh, String(idIn(ran.line, /crm tag (\d+)/)));
      assert.ok(c.tags.includes('climbing') && !c.tags.includes('work'), c.tags.join(','));
    },
  },
  {
    line: /crm link (\d+) (\d+) --as partner$/,
    check(sh, ran) {
      const [, a, b] = /crm link (\d+) (\d+)/.exec(ran.line)!;
      assert.ok(
        contact(sh, a!).links.some((l) => l.id === Number(b) && l.relation === 'partner'),
        'linked one way',
      );
      assert.ok(
        contact(sh, b!).links.some((l) => l.id === Number(a) && l.relation === 'partner'),
        'stored both ways',
      );
    },
  },
  {
    line: /crm rm (\d+) --yes$/,
    check(sh, ran) {
      missing(sh, `ssh HOST crm show ${idIn(ran.line, /crm rm (\d+)/)}`, 'removed');
    },
  },
  {
    line: /crm import < contacts\.vcf$/,
    check(sh) {
      assert.deepEqual(
        contact(sh, 'Grace Hopper').emails.map((e) => e.value),
        ['grace@example.org'],
      );
    },
  },
  {
    line: /crm import --csv < google\.csv$/,
    check(sh) {
      assert.deepEqual(
        contact(sh, 'Alan Turing').emails.map((e) => e.value),
        ['alan@example.org'],
      );
    },
  },
  {
    line: /crm export > all\.vcf$/,
    check(sh) {
      const vcf = readFileSync(join(sh.home, 'all.vcf'), 'utf8');
      assert.match(vcf, /^BEGIN:VCARD/);
      assert.match(vcf, /FN:Ada Lovelace/);
    },
  },
  {
    line: /crm remind --via matrix --room '#me:example\.org'$/,
    check(sh) {
      const r = JSON.parse(ok(sh, 'ssh HOST crm remind --json').stdout) as { via: string; room: string | null };
      assert.deepEqual([r.via, r.room], ['matrix', '#me:example.org']);
    },
  },
  // Ops.
  {
    line: /node provision nuc2 --mac 3c:52:82:aa:bb:cc --role worker --location home$/,
    check(sh) {
      assert.match(ok(sh, 'ssh HOST node inventory').stdout, /nuc2.*3c:52:82:aa:bb:cc|3c:52:82:aa:bb:cc.*nuc2/);
    },
  },
  {
    line: /seat add carol-phone$/,
    check(sh) {
      assert.match(ok(sh, 'ssh HOST seat ls').stdout, /carol-phone/);
    },
  },
  {
    line: /seat add carol-laptop > wg0\.conf$/,
    check(sh) {
      assert.match(readFileSync(join(sh.home, 'wg0.conf'), 'utf8'), /^\[Interface\][\s\S]*PrivateKey = [\s\S]*\[Peer\]/m);
      assert.match(ok(sh, 'ssh HOST seat ls').stdout, /carol-laptop/);
    },
  },
];
