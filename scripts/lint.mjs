#!/usr/bin/env node
// House rules that the type checker cannot see (design §3): vendor SDKs only in their adapters,
// and the operations layer never imports a front-end. Prints one line per violation; exit 1 if any.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** package → the only folders allowed to import it */
const ADAPTERS = {
  '@kubernetes/client-node': ['src/ops/kube/'],
  'matrix-bot-sdk': ['src/bot/'],
  '@matrix-org/matrix-sdk-crypto-nodejs': ['src/bot/'],
  ssh2: ['src/ssh/'],
  blessed: ['src/ssh/tui/', 'src/apps/'],
};
/** the front-ends: the operations layer imports none, and no front-end imports another */
const FRONT_ENDS = ['src/ssh/', 'src/bot/', 'src/http/'];

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

export function violations() {
  const found = [];
  for (const file of files(join(root, 'src'))) {
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*)['"]([^'"]+)['"]/g)) {
      const spec = m[1];
      for (const [pkg, homes] of Object.entries(ADAPTERS)) {
        if ((spec === pkg || spec.startsWith(pkg + '/')) && !homes.some((h) => rel.startsWith(h))) {
          found.push(`${rel}: imports ${pkg}, allowed only in ${homes.join(', ')}`);
        }
      }
      if (spec.startsWith('.')) {
        const target = relative(root, join(file, '..', spec));
        const targetFront = FRONT_ENDS.find((f) => target.startsWith(f));
        const ownFront = FRONT_ENDS.find((f) => rel.startsWith(f));
        if (targetFront && rel.startsWith('src/ops/')) found.push(`${rel}: the operations layer imports a front-end (${target})`);
        else if (targetFront && ownFront && targetFront !== ownFront) found.push(`${rel}: one front-end imports another (${target})`);
      }
    }
  }
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = violations();
  for (const line of found) console.error(line);
  process.exit(found.length ? 1 : 0);
}
