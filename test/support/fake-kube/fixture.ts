/** Reads a fixture: a YAML (or JSON) file of Kubernetes objects, as several documents or one `kind: List`. */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from './store.ts';

export function readFixture(path: string): KubeObject[] {
  const text = readFileSync(path, 'utf8');
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0]!.message.split('\n')[0]}`);
    const value = doc.toJS() as KubeObject | null;
    if (!value) continue;
    const items = value.kind === 'List' ? ((value.items ?? []) as KubeObject[]) : [value];
    for (const item of items) {
      if (!item?.metadata?.name || !item.kind || !item.apiVersion) throw new Error(`${path}: every object needs apiVersion, kind and metadata.name`);
      out.push(item);
    }
  }
  return out;
}
