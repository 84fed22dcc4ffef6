/**
 * Skips Node's package-type lookup for the relative imports inside the given ESM packages. Node
 * (22-24) finds a `.js` file's format by reading its package.json and, in doing so, parses that
 * package's whole `exports` map again for every file it loads: drizzle-orm's is 179 kB, read for
 * each of the ~150 files labd loads from it, half a second of CPU at start (issue 22). A package
 * whose package.json says `"type": "module"` has only ES modules in its `.js` files, so the answer
 * is known. Without module.registerHooks (Node < 22.15) this does nothing.
 */
import module, { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

// module.registerHooks (Node 22.15+, 23.5+) is not in @types/node 20: the part used here.
interface Resolved {
  url: string;
  format?: string;
  shortCircuit?: boolean;
}
interface ResolveContext {
  parentURL?: string;
}
type RegisterHooks = (hooks: {
  resolve(specifier: string, context: ResolveContext, nextResolve: (specifier: string, context: ResolveContext) => Resolved): Resolved;
}) => unknown;

/** The folder holding the package's own package.json (which its `exports` may not list). */
function packageRoot(name: string): string | undefined {
  let dir: string;
  try {
    dir = dirname(require.resolve(name));
  } catch {
    return undefined;
  }
  for (;;) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === name) return dir;
    } catch {
      // no package.json here: look further up
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

export function skipPackageTypeLookups(packages: string[]): void {
  const registerHooks = (module as unknown as { registerHooks?: RegisterHooks }).registerHooks;
  if (typeof registerHooks !== 'function') return;
  const roots: string[] = [];
  for (const name of packages) {
    const root = packageRoot(name);
    if (root !== undefined && (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { type?: string }).type === 'module')
      roots.push(pathToFileURL(root).href + '/');
  }
  if (roots.length === 0) return;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL;
      if (parent && (specifier.startsWith('./') || specifier.startsWith('../')) && specifier.endsWith('.js') && roots.some((r) => parent.startsWith(r))) {
        const url = new URL(specifier, parent).href;
        if (roots.some((r) => url.startsWith(r))) return { url, format: 'module', shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
}
