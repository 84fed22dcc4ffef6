import { Conflict, UsageError } from '../../core/errors.ts';

const SEGMENT = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const MAX_NAME = 200;

/** Quotes a hostile name for an error message: bounded, control characters made visible. */
export function shown(text: string): string {
  return JSON.stringify(text.slice(0, 60)).slice(1, -1);
}

/**
 * A repository name as users may type it ('dotfiles', '/dotfiles.git', 'tools/cli') → its normal
 * form ('dotfiles', 'tools/cli'). Refuses before any git process or path join: control characters,
 * '..', absolute-looking or doubled slashes, backslashes, more than one folder level, and anything
 * outside [a-z0-9._-]. Segments may not start with '.', so no '.git' directory or dot-file is reachable.
 */
export function repoName(input: string): string {
  if (input.length > MAX_NAME) throw new UsageError(`repository name too long (at most ${MAX_NAME} characters)`);
  if (/[\x00-\x1f\x7f]/.test(input)) throw new UsageError(`bad repository name '${shown(input)}': control characters`);
  let name = input.startsWith('/') ? input.slice(1) : input;
  if (name.endsWith('.git')) name = name.slice(0, -4);
  if (name.endsWith('/')) name = name.slice(0, -1);
  if (!name) throw new UsageError('no repository name given');
  const segments = name.split('/');
  if (segments.some((s) => s === '..' || s === '.')) throw new UsageError(`bad repository name '${shown(input)}': '..' and '.' are not allowed`);
  if (segments.length > 2) throw new UsageError(`bad repository name '${shown(input)}': at most one folder level (FOLDER/NAME)`);
  for (const s of segments) {
    if (!s) throw new UsageError(`bad repository name '${shown(input)}': empty path segment (absolute paths are not allowed)`);
    if (!SEGMENT.test(s)) {
      throw new UsageError(`bad repository name '${shown(input)}': use lower-case letters, digits, '.', '_' and '-', not starting with '.', '_' or '-'`);
    }
    // On disk a repository is NAME.git: a folder (or a second suffix) named so would sit inside another repository.
    if (s.endsWith('.git')) throw new UsageError(`bad repository name '${shown(input)}': '.git' only once, at the end`);
  }
  return name;
}

/** Whether `repoName` accepts the text (for routes that answer 404 rather than an error). */
export function isRepoName(input: string): boolean {
  try {
    repoName(input);
    return true;
  } catch {
    return false;
  }
}

/** A path inside a repository's tree (for `repo tree/blob`): relative, no '..', no control characters. */
export function treePath(input: string | undefined): string {
  if (input === undefined) return '';
  if (input.length > 4096) throw new UsageError('path too long');
  if (/[\x00-\x1f\x7f]/.test(input)) throw new UsageError(`bad path '${shown(input)}': control characters`);
  const parts = input.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new UsageError(`bad path '${shown(input)}': '..' is not allowed`);
  return parts.join('/');
}

/** A ref name as given to `--ref`: a branch, tag or commit id; never an option or a range. */
export function refName(input: string | undefined): string {
  if (input === undefined) return 'HEAD';
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/.test(input) || input.includes('..') || input.includes('//') || input.endsWith('.lock') || input.endsWith('/')) {
    throw new UsageError(`bad ref '${shown(input)}': expected a branch, tag or commit id`);
  }
  return input;
}

/**
 * A taken name, in the same words for everyone: "already exists" told people who cannot see a
 * private repository that it is there, while `repo info` said there was none.
 */
export function nameTaken(name: string): Conflict {
  return new Conflict(`repository name '${name}' is not available`);
}
