/**
 * labd (in this process) wired to the Kubernetes API fake (also in this process, so drive ssh asynchronously),
 * with the initial admin and a member `mia`: the set-up every Kubernetes test file starts from.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFixture } from './fake-kube/fixture.ts';
import { FakeKube, type FakeKubeOptions } from './fake-kube/server.ts';
import type { KubeObject } from './fake-kube/store.ts';
import { ROOT, type KeyLab } from './labd.ts';
import { InProcessLabd } from './labd-inprocess.ts';

export const EXAMPLE_FIXTURE = join(ROOT, 'test/support/fake-kube/fixture.example.yaml');

/** The example fixture's objects: three nodes, their pods, a deployment, Kilo peers, Flux objects. */
export function exampleObjects(): KubeObject[] {
  return readFixture(EXAMPLE_FIXTURE);
}

export interface KubeLab {
  fake: FakeKube;
  labd: InProcessLabd;
  /** Key files of the admin and of the member `mia`. */
  admin: string;
  member: string;
  /** Stops labd, then the fake (the caller cleans up its KeyLab). */
  stop(): Promise<void>;
}

export interface KubeLabOptions {
  /** What the fake holds at start (default: the example fixture). */
  objects?: KubeObject[];
  controllers?: FakeKubeOptions['controllers'];
  /** More labd environment; LABD_KUBECONFIG and LABD_KUBE_TIMEOUT (3s) are set unless given. */
  env?: Record<string, string>;
}

export async function startKubeLab(keys: KeyLab, o: KubeLabOptions = {}): Promise<KubeLab> {
  const admin = keys.key('admin');
  const member = keys.key('member');
  const fake = await FakeKube.start({ objects: o.objects ?? exampleObjects(), controllers: o.controllers ?? false });
  let labd: InProcessLabd;
  try {
    const kubeconfig = fake.writeKubeconfig(join(keys.dir, 'kubeconfig'));
    labd = await InProcessLabd.start({ adminKeys: [keys.publicKey(admin)], env: { LABD_KUBECONFIG: kubeconfig, LABD_KUBE_TIMEOUT: '3s', ...o.env } });
  } catch (err) {
    await fake.stop();
    throw err;
  }
  const lab: KubeLab = {
    fake,
    labd,
    admin,
    member,
    async stop() {
      await labd.stop();
      await fake.stop();
    },
  };
  const r = await labd.sshAsync(admin, ['user', 'add', 'mia', '--role', 'member', '--key', `'${keys.publicKey(member)}'`]);
  if (r.status !== 0) await lab.stop();
  assert.equal(r.status, 0, r.stderr);
  return lab;
}
