import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout. Secrets never reach the logger: redact the usual suspects anyway. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'labd' },
      redact: { paths: ['*.token', '*.password', '*.secret', '*.privateKey', 'token', 'password', 'secret'], censor: '[redacted]' },
    },
    destination ?? process.stdout,
  );
}
