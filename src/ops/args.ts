import { z } from 'zod';
import { UsageError } from '../core/errors.ts';

/** Unwraps optional/default/nullable wrappers to see what a flag really holds. */
function baseType(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable || s instanceof z.ZodPrefault) {
      s = (s as unknown as { unwrap(): z.ZodType }).unwrap();
    } else if (s instanceof z.ZodPipe) {
      s = (s as unknown as { in: z.ZodType }).in;
    } else return s;
  }
}

export function isBooleanFlag(schema: z.ZodType): boolean {
  return baseType(schema) instanceof z.ZodBoolean;
}
export function isListArg(schema: z.ZodType): boolean {
  return baseType(schema) instanceof z.ZodArray;
}
export function isRequired(schema: z.ZodType): boolean {
  return !schema.safeParse(undefined).success;
}

export interface ArgSpec {
  schema: z.ZodObject;
  positionals: readonly string[];
  short: Readonly<Record<string, string>>;
  /** Words that look like flags but name none are positional words (`crm tag 3 +work -old`). */
  dashWords?: boolean;
  /**
   * Flags whose value runs on over the next words that match: over SSH the local shell's quotes are
   * gone, so `--phone "+44 20 7946 0958"` arrives as four words, which belong to the phone.
   */
  continued?: Readonly<Record<string, RegExp>>;
}

export interface ParsedArgv {
  raw: Record<string, unknown>;
}

const FLAG_NAME = /^[a-z][a-z0-9-]*$/;

function camel(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * Turns argv words into the raw object a command's zod schema validates.
 * Accepts --flag, --flag=value, --flag value, -f, -f=value, -f value, -b=false, and `--`.
 */
export function parseArgv(spec: ArgSpec, argv: readonly string[]): Record<string, unknown> {
  const shape = spec.schema.shape as Record<string, z.ZodType>;
  const raw: Record<string, unknown> = {};
  const positionals: string[] = [];
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (onlyPositionals || word === '-' || !word.startsWith('-') || /^-\d/.test(word)) {
      positionals.push(word);
      continue;
    }
    if (word === '--') {
      onlyPositionals = true;
      continue;
    }
    const long = word.startsWith('--');
    const body = word.slice(long ? 2 : 1);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    let inline: string | undefined = eq === -1 ? undefined : body.slice(eq + 1);
    let key: string | undefined;
    if (long) {
      if (FLAG_NAME.test(name)) key = camel(name);
    } else {
      key = Object.hasOwn(spec.short, name) ? spec.short[name] : undefined;
    }
    // Own properties only: a flag such as --constructor or --to-string is unknown, not Object.prototype's.
    if (!key || !Object.hasOwn(shape, key) || spec.positionals.includes(key)) {
      if (spec.dashWords) {
        positionals.push(word);
        continue;
      }
      throw new UsageError(`unknown flag '${word.slice(0, 40)}'`);
    }
    const schema = shape[key]!;
    let value: string | boolean;
    if (isBooleanFlag(schema)) {
      if (inline === undefined) value = true;
      else if (/^(true|1|yes)$/i.test(inline)) value = true;
      else if (/^(false|0|no)$/i.test(inline)) value = false;
      else throw new UsageError(`flag ${long ? '--' : '-'}${name} takes true or false, got '${inline.slice(0, 40)}'`);
    } else {
      if (inline === undefined) {
        inline = argv[i + 1];
        if (inline === undefined) throw new UsageError(`flag ${long ? '--' : '-'}${name} needs a value`);
        i++;
        const more = spec.continued && Object.hasOwn(spec.continued, key) ? spec.continued[key] : undefined;
        while (more && i + 1 < argv.length && more.test(argv[i + 1]!)) inline += ` ${argv[++i]!}`;
      }
      value = inline;
    }
    if (isListArg(schema)) {
      const list = (raw[key] as string[] | undefined) ?? [];
      list.push(...String(value).split(',').filter(Boolean));
      raw[key] = list;
    } else {
      if (Object.hasOwn(raw, key)) throw new UsageError(`flag --${kebab(key)} given twice`);
      raw[key] = value;
    }
  }
  let p = 0;
  for (const name of spec.positionals) {
    const schema = shape[name]!;
    if (isListArg(schema)) {
      raw[name] = positionals.slice(p);
      p = positionals.length;
      break;
    }
    if (p < positionals.length) raw[name] = positionals[p++];
  }
  if (p < positionals.length) {
    throw new UsageError(`unexpected argument '${positionals[p]!.slice(0, 40)}'`);
  }
  return raw;
}

/** Validates the raw object, turning the first zod issue into one clear usage line. */
export function validateArgs<T>(schema: z.ZodType<T>, raw: Record<string, unknown>, positionals: readonly string[]): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  const label = positionals.includes(key) ? key.toUpperCase() : `--${kebab(key)}`;
  const missing = issue.code === 'invalid_type' && raw[key] === undefined;
  throw new UsageError(missing ? `missing ${label}` : `${label}: ${issue.message}`);
}

/**
 * Free text taken from the trailing words (`ack 12 --for 2h looking at the disk`). Over SSH the
 * client joins its arguments and labd splits them again, so quotes typed on the user's shell are
 * gone: a text flag would only ever get its first word. Use it as the last positional.
 */
export function freeText(max: number, description: string) {
  return z
    .array(z.string())
    .default([])
    .transform((words) =>
      words
        .join(' ')
        .replace(/[\x00-\x1f\x7f]+/g, ' ')
        .trim(),
    )
    .pipe(z.string().max(max, `at most ${max} characters`))
    .describe(description);
}
