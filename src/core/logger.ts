import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** `json`: one JSON object a line, for machines; `pretty`: readable lines; `auto`: pretty on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * Logs on stdout: JSON for machines (log collectors, `kubectl logs | jq`), readable lines with local
 * times for a person who ran `npm start` in a terminal (pino's own pino-pretty, loaded only then).
 * Secrets never reach the logger: redact the usual suspects anyway.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = 'auto'): Logger {
  const out = destination ?? process.stdout;
  const isTerminal = (out as { isTTY?: boolean }).isTTY === true;
  const pretty = format === 'pretty' || (format === 'auto' && isTerminal);
  return pino(
    {
      level,
      base: { service: 'labd' },
      redact: { paths: ['*.token', '*.password', '*.secret', '*.privateKey', 'token', 'password', 'secret'], censor: '[redacted]' },
    },
    pretty ? prettyStream(out, isTerminal) : out,
  );
}

function prettyStream(out: NodeJS.WritableStream, colour: boolean): DestinationStream {
  // CommonJS, loaded synchronously and only for a person's terminal: JSON logging never pays for it.
  const build = createRequire(import.meta.url)('pino-pretty') as (o: Record<string, unknown>) => DestinationStream;
  return build({
    destination: out,
    sync: true,
    // On a terminal pino-pretty decides (it honours NO_COLOR and FORCE_COLOR); elsewhere no escapes.
    ...(colour ? {} : { colorize: false }),
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss',
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
}
