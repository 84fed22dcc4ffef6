/** The cluster port when no cluster is configured: every call fails with one line saying how to configure one. */
import { Unavailable } from '../../core/errors.ts';
import { NOT_CONFIGURED } from './connect.ts';
import type { KubePort } from './port.ts';

const fail = (): Promise<never> => Promise.reject(new Unavailable(NOT_CONFIGURED));

export const unconfiguredKube: KubePort = {
  target: '(not configured)',
  listNodes: fail,
  getNode: fail,
  patchNode: fail,
  deleteNode: fail,
  listPeers: fail,
  getPeer: fail,
  createPeer: fail,
  setPeerPublicKey: fail,
  deletePeer: fail,
  listPods: fail,
  evictPod: fail,
  listEvents: fail,
  getPod: fail,
  createSecret: fail,
  listSecrets: fail,
  deleteSecret: fail,
  listDeployments: fail,
  getDeployment: fail,
  patchDeployment: fail,
  listReplicaSets: fail,
  getFluxObject: fail,
  annotateFluxObject: fail,
};
