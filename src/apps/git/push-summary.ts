/**
 * What a push changed, from the refs before and after it: one summary per push (a push of 100k
 * tags was 100k ops events and 100k git processes), computed in one pass over the two maps.
 */
import type { PushedRefs, RefChanges } from '../../ops/events/index.ts';

/** Names a push announcement lists before "and N more". */
const NAMES_SHOWN = 5;

export interface PushSummary {
  refs: PushedRefs;
  /** Short name of the first ref the push changed ('' when it changed none). */
  firstRef: string;
  /** Where the created and updated refs point now (to count the new commits once for the push). */
  newIds: Set<string>;
}

const none = (): RefChanges => ({ created: 0, updated: 0, deleted: 0 });

export function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '');
}

export function summarizePush(before: Map<string, string>, after: Map<string, string>): PushSummary {
  const refs: PushedRefs = { total: 0, branches: none(), tags: none(), other: 0, names: [] };
  const newIds = new Set<string>();
  let firstRef = '';
  const count = (ref: string, change: keyof RefChanges) => {
    refs.total++;
    if (refs.names.length < NAMES_SHOWN) refs.names.push(shortRef(ref));
    if (!firstRef) firstRef = shortRef(ref);
    if (ref.startsWith('refs/heads/')) refs.branches[change]++;
    else if (ref.startsWith('refs/tags/')) refs.tags[change]++;
    else refs.other++;
  };
  for (const [ref, id] of after) {
    const old = before.get(ref);
    if (old === id) continue;
    count(ref, old === undefined ? 'created' : 'updated');
    newIds.add(id);
  }
  for (const ref of before.keys()) if (!after.has(ref)) count(ref, 'deleted');
  return { refs, firstRef, newIds };
}
