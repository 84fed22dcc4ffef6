/**
 * The one place that loads matrix-bot-sdk (design §5). The SDK requires
 * @matrix-org/matrix-sdk-crypto-nodejs at load time, whose native library comes from a
 * postinstall download that cannot happen on machines without outside access; without it the
 * SDK does not load at all. When the native module is missing, a stand-in takes its place that
 * fails clearly if encryption is ever used, and labd says encrypted rooms are unsupported.
 */
import { createRequire } from 'node:module';

export type MatrixSdk = typeof import('matrix-bot-sdk');

const CRYPTO_MODULE = '@matrix-org/matrix-sdk-crypto-nodejs';

export class EncryptionUnsupported extends Error {
  constructor(what: string) {
    super(`end-to-end encryption is unavailable (the native ${CRYPTO_MODULE} library is not installed); cannot use ${what}`);
  }
}

/** Any export of the stand-in is a class that refuses to be used. */
function cryptoStandIn(): object {
  return new Proxy(
    {},
    {
      get(_target, name) {
        if (typeof name === 'symbol' || name === '__esModule' || name === 'then') return undefined;
        return class {
          constructor() {
            throw new EncryptionUnsupported(String(name));
          }
          static [Symbol.hasInstance]() {
            return false;
          }
        };
      },
    },
  );
}

export interface LoadedSdk {
  sdk: MatrixSdk;
  /** False when the stand-in replaced the native crypto module. */
  encryption: boolean;
  /** Why encryption is off, for the start-up log. */
  cryptoError?: string;
}

let loaded: LoadedSdk | undefined;

export function loadMatrixSdk(): LoadedSdk {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const sdkRequire = createRequire(require.resolve('matrix-bot-sdk'));
  let encryption = true;
  let cryptoError: string | undefined;
  try {
    sdkRequire(CRYPTO_MODULE);
  } catch (err) {
    encryption = false;
    cryptoError = (err as Error).message.split('\n')[0];
    let path: string;
    try {
      path = sdkRequire.resolve(CRYPTO_MODULE);
    } catch {
      // The package itself is absent: register the stand-in under a path the SDK will resolve to.
      path = `${CRYPTO_MODULE}/stand-in.js`;
      const Module = require('node:module') as { _resolveFilename: (req: string, ...rest: unknown[]) => string };
      const resolve = Module._resolveFilename;
      Module._resolveFilename = (req: string, ...rest: unknown[]) => (req === CRYPTO_MODULE ? path : resolve(req, ...rest));
    }
    const standIn = new (require('node:module') as { Module: new (id: string) => NodeJS.Module }).Module(path);
    standIn.filename = path;
    standIn.loaded = true;
    standIn.exports = cryptoStandIn();
    require.cache[path] = standIn;
  }
  loaded = { sdk: require('matrix-bot-sdk') as MatrixSdk, encryption, cryptoError };
  return loaded;
}
