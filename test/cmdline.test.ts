import assert from 'node:assert/strict';
import { test } from 'vitest';
import { z } from 'zod';
import { UsageError } from '../src/core/errors.ts';
import { parseArgv, validateArgs } from '../src/ops/args.ts';
import { splitGlobalFlags } from '../src/ops/registry.ts';
import { splitCommandLine } from '../src/core/cmdline.ts';

test('command lines split like a shell, without expansion', () => {
  assert.deepEqual(splitCommandLine(`paste 'my notes.md' --expires 7d`), ['paste', 'my notes.md', '--expires', '7d']);
  assert.deepEqual(splitCommandLine(`a "b \\"c\\" $HOME" d\\ e ''`), ['a', 'b "c" $HOME', 'd e', '']);
  assert.deepEqual(splitCommandLine('  spaced   out  '), ['spaced', 'out']);
  assert.throws(() => splitCommandLine(`unterminated 'quote`), UsageError);
  assert.throws(() => splitCommandLine(`unterminated "quote`), UsageError);
});

const spec = {
  schema: z.object({
    name: z.string().optional(),
    rest: z.array(z.string()).default([]),
    block: z.boolean().default(true),
    access: z.array(z.string()).default([]),
    expires: z.string().optional(),
  }),
  positionals: ['name', 'rest'],
  short: { b: 'block', a: 'access' },
};

test('flags parse in every accepted spelling', () => {
  assert.deepEqual(parseArgv(spec, ['x', '--expires', '7d', '-b=false', '-a', 'bob,carol', 'y', 'z']), {
    name: 'x',
    rest: ['y', 'z'],
    expires: '7d',
    block: false,
    access: ['bob', 'carol'],
  });
  assert.deepEqual(parseArgv(spec, ['--expires=1h', '--block']), { expires: '1h', block: true, rest: [] });
  assert.deepEqual(parseArgv(spec, ['--', '--not-a-flag']), { name: '--not-a-flag', rest: [] });
});

test('bad flags are usage errors', () => {
  assert.throws(() => parseArgv(spec, ['--nope']), /unknown flag '--nope'/);
  assert.throws(() => parseArgv(spec, ['--expires']), /needs a value/);
  assert.throws(() => parseArgv(spec, ['-b=maybe']), /true or false/);
  assert.throws(() => parseArgv(spec, ['--expires', '1h', '--expires', '2h']), /given twice/);
  assert.throws(() => parseArgv({ ...spec, positionals: ['name'] }, ['a', 'b']), /unexpected argument 'b'/);
});

test('validation names the argument that is wrong', () => {
  const schema = z.object({ name: z.string(), count: z.coerce.number().int().min(1) });
  assert.throws(() => validateArgs(schema, { count: '2' }, ['name']), /missing NAME/);
  assert.throws(() => validateArgs(schema, { name: 'x', count: '0' }, ['name']), /--count:/);
});

test('global flags are taken out wherever they stand', () => {
  const { flags, rest } = splitGlobalFlags(['user', '--json', 'rm', 'bob', '-y']);
  assert.deepEqual(flags, { help: false, json: true, yes: true });
  assert.deepEqual(rest, ['user', 'rm', 'bob']);
});
