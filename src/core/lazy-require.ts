/**
 * A library loaded on first use, not when labd starts: markdown, phone numbers, XML, CSV, vCards and
 * YAML are each needed by one app, and a lab that never opens it should not hold them (labd at rest
 * is measured in bench/; issue 22). Only for packages that ship CommonJS, so the call stays synchronous.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazyRequire<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}
