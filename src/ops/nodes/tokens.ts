/**
 * Bootstrap tokens as kubeadm and k3s read them (research/k8s_ops.md §1): Secret `bootstrap-token-<id>` in
 * kube-system, type bootstrap.kubernetes.io/token, id [a-z0-9]{6}, secret [a-z0-9]{16}, RFC3339 expiration.
 */
import { randomInt } from 'node:crypto';
import type { KubeSecret } from '../kube/index.ts';

export const TOKEN_NAMESPACE = 'kube-system';
export const TOKEN_TYPE = 'bootstrap.kubernetes.io/token';
/** The group kubeadm binds to node-bootstrapper and CSR auto-approval; a token without it cannot join. */
export const NODE_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
/** Marks what labd made, so `keys rotate join-tokens` and deprovision only touch labd's tokens. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'labd';
/** The node a labd token was made for. */
export const TOKEN_NODE_LABEL = 'labd.dev/node';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomText(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

export interface BootstrapToken {
  id: string;
  secret: string;
  expiresAt: Date;
}

export function newToken(now: Date, ttlSeconds: number): BootstrapToken {
  return { id: randomText(6), secret: randomText(16), expiresAt: new Date(now.getTime() + ttlSeconds * 1000) };
}

export const tokenSecretName = (id: string): string => `bootstrap-token-${id}`;

/** The full token a node presents: `<id>.<secret>`. */
export const joinToken = (t: { id: string; secret: string }): string => `${t.id}.${t.secret}`;

export function tokenSecret(token: BootstrapToken, node: string): Omit<KubeSecret, 'createdAt'> {
  return {
    namespace: TOKEN_NAMESPACE,
    name: tokenSecretName(token.id),
    type: TOKEN_TYPE,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [TOKEN_NODE_LABEL]: node },
    data: {
      'token-id': token.id,
      'token-secret': token.secret,
      // RFC3339 without fractions, as kubeadm writes it.
      expiration: token.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      description: `labd join token for node ${node}`,
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-signing': 'true',
      'auth-extra-groups': NODE_TOKEN_GROUP,
    },
  };
}
