import { UsageError } from '../../core/errors.ts';

/** A topic is named OWNER/NAME; a bare NAME belongs to whoever names it. */
export interface TopicRef {
  owner: string;
  name: string;
  /** OWNER/NAME, the topic's key in the broker. */
  key: string;
}

const OWNER = /^[a-z][a-z0-9_-]{0,31}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function parseTopic(text: string, user: string): TopicRef {
  const slash = text.indexOf('/');
  const owner = slash === -1 ? user : text.slice(0, slash);
  const name = slash === -1 ? text : text.slice(slash + 1);
  if (!OWNER.test(owner)) throw new UsageError(`topic '${text.slice(0, 80)}': '${owner.slice(0, 40)}' is not a user name`);
  if (!NAME.test(name)) throw new UsageError(`topic '${text.slice(0, 80)}': a topic name is 1-64 letters, digits, '.', '_' or '-' (e.g. news or alice/news)`);
  return { owner, name, key: `${owner}/${name}` };
}

/** Checks an access list given with -a: user names. */
export function parseUserList(names: readonly string[]): string[] {
  for (const n of names) {
    if (!OWNER.test(n)) throw new UsageError(`-a: '${n.slice(0, 40)}' is not a user name`);
  }
  return [...new Set(names)];
}
