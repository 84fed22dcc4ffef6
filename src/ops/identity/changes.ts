/**
 * Account changes that concern open connections (a user removed, disabled or enabled, a role set, a
 * key removed) announced on the change feed (topic `accounts`): each replica then checks its open SSH
 * connections at once rather than at its next sweep. The store stays the source of truth; this only
 * says when to look.
 */
import { TOPICS, type ChangeNotice } from '../changes/port.ts';
import type { IdentityStore } from './store.ts';

const ANNOUNCED = ['setRole', 'setDisabled', 'removeUser', 'removeKey'] as const satisfies readonly (keyof IdentityStore)[];

/** The store, with each announced change published once it succeeded (after the commit, inside a feed's `deferring`). */
export function announcingIdentityStore<S extends IdentityStore>(store: S, changes: ChangeNotice): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (!(ANNOUNCED as readonly (string | symbol)[]).includes(prop)) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        changes.publish(TOPICS.accounts, { what: String(prop) });
        return result;
      };
    },
  });
}
