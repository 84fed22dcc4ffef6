/**
 * The git module's RepoStore contract on both engines: repositories (a taken name is the same Conflict
 * in the same words on both, for create and rename, also when two creates race), the per-user quota,
 * and collaborators.
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import type { Clock } from '../src/core/clock.ts';
import { Conflict } from '../src/core/errors.ts';
import { SqlRepoStore } from '../src/apps/git/sql-store.ts';
import type { NewRepo } from '../src/apps/git/store.ts';
import { ENGINES, openTestEngine, type TestEngine } from './support/engines.ts';

const taken = (name: string) => (err: unknown) => err instanceof Conflict && err.message === `repository name '${name}' is not available`;

describe.each(ENGINES)('git repository store on %s', (engineName) => {
  let engine: TestEngine;
  let store: SqlRepoStore;
  let now = new Date('2026-04-01T08:00:00.000Z');
  const clock: Clock = { now: () => now };
  let alice: number;
  let bob: number;
  let carol: number;

  const repo = (name: string, createdBy: number | null, extra: Partial<NewRepo> = {}): NewRepo => ({
    name,
    projectName: '',
    description: '',
    private: false,
    hidden: false,
    mirrorUrl: null,
    createdBy,
    ...extra,
  });

  beforeAll(async () => {
    engine = await openTestEngine(engineName);
    store = new SqlRepoStore(engine.handle, clock);
    const { users } = engine.handle.t;
    const made = await engine.handle.run((db) =>
      db
        .insert(users)
        .values([
          { name: 'carol', role: 'member' },
          { name: 'alice', role: 'member' },
          { name: 'Bob', role: 'member' },
        ])
        .returning({ id: users.id }),
    );
    [carol, alice, bob] = made.map((u) => u.id) as [number, number, number];
  });
  afterAll(() => engine.close());

  test('create, get, list (by name) and createdBy', async () => {
    const made = await store.create(repo('dotfiles', alice, { projectName: 'Dot files', description: 'mine', private: true }));
    assert.deepEqual(made, {
      id: made.id,
      name: 'dotfiles',
      projectName: 'Dot files',
      description: 'mine',
      private: true,
      hidden: false,
      mirrorUrl: null,
      createdBy: alice,
      createdAt: now,
      updatedAt: null,
    });
    assert.deepEqual(await store.get('dotfiles'), made);
    assert.equal(await store.get('nope'), undefined);
    await store.create(repo('tools/cli', alice, { hidden: true, mirrorUrl: 'https://example.test/cli.git' }));
    await store.create(repo('tools-old', bob));
    await store.create(repo('orphan', null));
    assert.deepEqual(
      (await store.list()).map((r) => r.name),
      ['dotfiles', 'orphan', 'tools-old', 'tools/cli'],
    );
    const cli = (await store.get('tools/cli'))!;
    assert.equal(cli.hidden, true);
    assert.equal(cli.mirrorUrl, 'https://example.test/cli.git');
    assert.deepEqual(
      (await store.createdBy(alice)).map((r) => r.name),
      ['dotfiles', 'tools/cli'],
    );
    assert.deepEqual(
      (await store.createdBy(bob)).map((r) => r.name),
      ['tools-old'],
    );
    assert.deepEqual(await store.createdBy(carol), []);
  });

  test('a taken name is the same Conflict whoever asks, and nothing is written', async () => {
    await assert.rejects(store.create(repo('dotfiles', bob)), taken('dotfiles'));
    await assert.rejects(store.create(repo('dotfiles', null)), taken('dotfiles'));
    assert.equal((await store.get('dotfiles'))!.createdBy, alice);
    assert.equal((await store.list()).length, 4);
  });

  test('two creates of one name at once: one wins, the other gets the same Conflict', async () => {
    const results = await Promise.allSettled([store.create(repo('race', alice)), store.create(repo('race', bob))]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const lost = results.find((r) => r.status === 'rejected');
    assert.ok(lost && taken('race')(lost.reason), String(lost && lost.reason));
    await store.remove('race');
  });

  test('the per-user quota counts what a user created; none for a repository without a creator', async () => {
    await assert.rejects(
      store.create(repo('third', alice), 2),
      (err: unknown) => err instanceof Conflict && /repository quota: you have 2 repositories/.test(err.message),
    );
    assert.equal(await store.get('third'), undefined);
    const ok = await store.create(repo('second', bob), 2);
    assert.equal(ok.createdBy, bob);
    await store.create(repo('unowned', null), 0);
    await store.remove('second');
    await store.remove('unowned');
  });

  test('update patches and stamps updatedAt; an unknown name gives undefined', async () => {
    now = new Date(now.getTime() + 60_000);
    const updated = await store.update('dotfiles', { description: 'shared now', private: false, projectName: 'Dots' });
    assert.ok(updated);
    assert.equal(updated.description, 'shared now');
    assert.equal(updated.private, false);
    assert.equal(updated.projectName, 'Dots');
    assert.equal(updated.updatedAt?.getTime(), now.getTime());
    assert.equal(updated.createdAt.getTime(), now.getTime() - 60_000);
    const mirrored = await store.update('tools/cli', { mirrorUrl: null, hidden: false });
    assert.equal(mirrored?.mirrorUrl, null);
    assert.equal(mirrored?.hidden, false);
    assert.equal(await store.update('nope', { description: 'x' }), undefined);
  });

  test('collaborators: set (and change), list by user, levels, a user’s collaborations, remove', async () => {
    await store.setCollaborator('dotfiles', carol, 'read-only');
    await store.setCollaborator('dotfiles', bob, 'read-write');
    await store.setCollaborator('dotfiles', alice, 'admin');
    await store.setCollaborator('tools/cli', bob, 'no-access');
    await store.setCollaborator('nope', bob, 'admin'); // no such repository: nothing happens
    assert.deepEqual(await store.collaborators('dotfiles'), [
      { userId: bob, user: 'Bob', level: 'read-write' },
      { userId: alice, user: 'alice', level: 'admin' },
      { userId: carol, user: 'carol', level: 'read-only' },
    ]);
    await store.setCollaborator('dotfiles', carol, 'read-write');
    assert.equal(await store.collaboratorLevel('dotfiles', carol), 'read-write');
    assert.equal(await store.collaboratorLevel('tools/cli', bob), 'no-access');
    assert.equal(await store.collaboratorLevel('tools/cli', carol), undefined);
    assert.equal(await store.collaboratorLevel('nope', bob), undefined);
    assert.deepEqual(
      await store.collaborationsOf(bob),
      new Map([
        ['dotfiles', 'read-write'],
        ['tools/cli', 'no-access'],
      ]),
    );
    assert.deepEqual(await store.collaborationsOf(9999), new Map());
    assert.deepEqual(await store.collaborators('nope'), []);

    assert.equal(await store.removeCollaborator('dotfiles', carol), true);
    assert.equal(await store.removeCollaborator('dotfiles', carol), false);
    assert.equal(await store.removeCollaborator('nope', bob), false);
    assert.equal(await store.collaboratorLevel('dotfiles', carol), undefined);
  });

  test('rename keeps id and collaborators; a taken target is the same Conflict and changes nothing', async () => {
    const before = (await store.get('dotfiles'))!;
    now = new Date(now.getTime() + 60_000);
    await store.rename('dotfiles', 'config/dotfiles');
    assert.equal(await store.get('dotfiles'), undefined);
    const after = (await store.get('config/dotfiles'))!;
    assert.equal(after.id, before.id);
    assert.equal(after.updatedAt?.getTime(), now.getTime());
    assert.equal(await store.collaboratorLevel('config/dotfiles', bob), 'read-write');
    await assert.rejects(store.rename('config/dotfiles', 'tools-old'), taken('tools-old'));
    assert.equal((await store.get('tools-old'))!.createdBy, bob);
    assert.equal((await store.get('config/dotfiles'))!.id, before.id);
  });

  test('remove drops the repository and its collaborators; a second remove says false', async () => {
    const id = (await store.get('config/dotfiles'))!.id;
    assert.equal(await store.remove('config/dotfiles'), true);
    assert.equal(await store.remove('config/dotfiles'), false);
    assert.equal(await store.get('config/dotfiles'), undefined);
    const { gitCollaborators } = engine.handle.t;
    const left = await engine.handle.run((db) => db.select().from(gitCollaborators));
    assert.ok(!left.some((c) => c.repoId === id), 'its collaborators went with it');
    assert.deepEqual(await store.collaborationsOf(bob), new Map([['tools/cli', 'no-access']]));
    // The name is free again.
    const again = await store.create(repo('config/dotfiles', carol));
    assert.notEqual(again.id, id);
  });
});
