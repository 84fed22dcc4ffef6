/** Arguments shared by the deploy commands: NAMESPACE/NAME, image references, time-outs. */
import { z } from 'zod';
import { parseDuration } from '../../core/duration.ts';

const DNS_LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
const DNS_SUBDOMAIN = `${DNS_LABEL}(?:\\.${DNS_LABEL})*`;
const REF = new RegExp(`^${DNS_LABEL}/${DNS_SUBDOMAIN}$`);

/** `NAMESPACE/NAME`, both as Kubernetes allows them. */
export const objectRef = z.string().max(317).regex(REF, 'expected NAMESPACE/NAME, e.g. default/web (lower-case letters, digits, - and .)');

export function splitRef(ref: string): { namespace: string; name: string } {
  const i = ref.indexOf('/');
  return { namespace: ref.slice(0, i), name: ref.slice(i + 1) };
}

export const namespaceName = z.string().regex(new RegExp(`^${DNS_LABEL}$`), 'expected a namespace name (lower-case letters, digits and -)');

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
// Docker's reference grammar: [host[:port]/]path[:tag][@algorithm:hex].
const IMAGE = new RegExp(
  `^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\\d{1,5})?/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,})?$`,
);

export const imageRef = z.string().max(512).regex(IMAGE, 'expected an image reference like nginx:1.27 or ghcr.io/owner/app@sha256:…').describe('the new image');

export const containerName = z.string().regex(new RegExp(`^${DNS_LABEL}$`), 'expected a container name');

/** A `--timeout` flag: a duration such as 90s, 10m. */
export function timeoutFlag(fallback: string, what: string) {
  return z
    .string()
    .default(fallback)
    .refine((v) => {
      try {
        parseDuration(v);
        return true;
      } catch {
        return false;
      }
    }, 'expected a duration like 90s, 10m or 1h')
    .describe(`give up waiting after this long (default ${fallback}); ${what}`);
}
