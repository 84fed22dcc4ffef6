/**
 * Runs the Kubernetes API fake on its own so a person can point labd at it:
 *   npm run fake-kube -- --port 6443 --fixture test/support/fake-kube/fixture.example.yaml [--kubeconfig FILE]
 * Prints the kubeconfig path; then `LABD_KUBECONFIG=FILE npm start`.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readFixture } from './fixture.ts';
import { FakeKube } from './server.ts';

const USAGE = 'usage: npm run fake-kube -- [--port N] [--host ADDR] [--fixture FILE] [--kubeconfig FILE] [--token TOKEN] [--tick-ms N]';

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '6443' },
        host: { type: 'string', default: '127.0.0.1' },
        fixture: { type: 'string' },
        kubeconfig: { type: 'string', default: 'fake-kube.kubeconfig' },
        token: { type: 'string' },
        'tick-ms': { type: 'string', default: '500' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`fake-kube: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) return void console.log(USAGE);
  const port = Number(values.port);
  const tickMs = Number(values['tick-ms']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected 0-65535, got '${values.port}'`);
  if (!(tickMs > 0)) throw new Error(`--tick-ms: expected a positive number, got '${values['tick-ms']}'`);
  const objects = values.fixture ? readFixture(values.fixture) : [];
  const fake = await FakeKube.start({ host: values.host, port, token: values.token, objects, controllers: { tickMs } });
  const kubeconfig = fake.writeKubeconfig(resolve(values.kubeconfig));
  console.log(`fake-kube listening on ${fake.url} with ${objects.length} fixture objects`);
  console.log(`kubeconfig written to ${kubeconfig}`);
  console.log(`try: LABD_KUBECONFIG=${kubeconfig} npm start   (then: ssh -p 2222 localhost nodes)`);
  const stop = () => void fake.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`fake-kube: ${(err as Error).message}`);
  process.exit(1);
});
