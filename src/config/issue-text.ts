/**
 * One format for every invalid config value, whichever check found it (the environment parser or the
 * schema): `config: KEY (VARIABLE): expected WHAT, got 'VALUE' (e.g. EXAMPLE)`. zod's own texts
 * ("Invalid input", "Too small: expected number to be >=1") say neither what is wanted nor an example.
 */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

const TYPE_NAMES: Record<string, string> = { number: 'a number', boolean: 'true or false', string: 'text', array: 'a list', object: 'a mapping' };

/** A value as the user wrote it, short and printable. */
export function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return `'${text.replace(/[\x00-\x1f\x7f-\x9f]/g, '?').slice(0, 40)}${text.length > 40 ? '…' : ''}'`;
}

/** zod's wording of one alternative, as "expected …" text without zod's prefixes. */
function expectation(issue: Issue): string {
  // The schema's own words where it has them ('expected HOST:PORT, e.g. …', 'required: …').
  if (issue.message && !/^(Invalid|Too small|Too big)\b/.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_value':
      return issue.values.length === 1 ? `expected ${String(issue.values[0])}` : `expected one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_type':
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return `expected at least ${String(issue.minimum)}`;
    case 'too_big':
      return `expected at most ${String(issue.maximum)}`;
    case 'invalid_union': {
      const alternatives = issue.errors.map((branch) => (branch[0] ? expectation(branch[0]) : '')).filter(Boolean);
      const texts = [...new Set(alternatives.map((a) => a.replace(/^expected /, '')))];
      return texts.length ? `expected ${texts.join(' or ')}` : 'expected another value';
    }
    default:
      return 'expected another value';
  }
}

/** An example of a good value: the default when there is one, unless the expectation already gives one. */
function exampleOf(expected: string, fallback: unknown): string {
  if (/\b(like|one of)\b|e\.g\./.test(expected)) return '';
  if (fallback === undefined || fallback === null || typeof fallback === 'object' || fallback === '') return '';
  return ` (e.g. ${String(fallback)})`;
}

/** The whole line for an invalid value at `key`. */
export function invalidValueText(key: string, envName: string | undefined, expected: string, value: unknown, example?: unknown): string {
  // A secret is never echoed (logs keep start-up errors); a value the text already quotes is not repeated.
  const secret = /token|secret|password|database\.url|DATABASE_URL|nats\.url|NATS_URL/i.test(key);
  const quoted = typeof value === 'string' && value !== '' && expected.includes(`${value}:`);
  const got = value === undefined || secret || quoted ? '' : `, got ${shown(value)}`;
  return `config: ${key}${envName ? ` (${envName})` : ''}: ${expected}${got}${exampleOf(expected, example)}`;
}

/** The line for a schema issue. */
export function issueText(issue: Issue, key: string, envName: string | undefined, value: unknown, example?: unknown): string {
  return invalidValueText(key, envName, expectation(issue), value, example);
}
