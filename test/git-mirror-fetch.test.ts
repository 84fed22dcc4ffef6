/**
 * A mirror is refreshed by its schedule and by `repo sync`, which may overlap: two `git remote update`
 * in one repository at once fail on each other's ref locks ("cannot lock ref"), and the user's sync
 * reported an error (seen in a clean-clone run). Fetches of one mirror take turns.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, describe, test } from 'vitest';
import { GitRepos } from '../src/apps/git/repos.ts';
import { run } from './support/labd.ts';

describe('mirror fetches', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labd-mirror-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const git = (args: string[], cwd = dir) => {
    const r = run('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.com', ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
  };

  test('overlapping fetches of one mirror all succeed and end at the source', async () => {
    const source = join(dir, 'source');
    git(['init', '-q', '-b', 'main', source]);
    // Many branches: each fetch then holds many ref locks, so overlapping ones collide.
    for (let i = 0; i < 40; i++) {
      writeFileSync(join(source, 'f.txt'), `${i}\n`);
      git(['add', 'f.txt'], source);
      git(['commit', '-q', '-m', `c${i}`], source);
      git(['branch', `b${i}`], source);
    }
    const repos = new GitRepos(join(dir, 'repos'), 'git');
    repos.prepare();
    await repos.cloneFrom('m', source, true);
    for (let round = 0; round < 5; round++) {
      writeFileSync(join(source, 'f.txt'), `round ${round}\n`);
      git(['commit', '-q', '-am', `round ${round}`], source);
      for (let i = 0; i < 40; i++) git(['branch', '-f', `b${i}`, 'HEAD'], source);
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => repos.fetchMirror('m')));
      const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
      assert.deepEqual(failed, [], `round ${round}`);
    }
    assert.equal((await repos.log('m', 'b7', 1))[0]!.subject, 'round 4');
  });
});
