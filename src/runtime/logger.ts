import { pino, type Logger as PinoLogger } from 'pino';

/** Structured logger (pino). JSON lines on stderr so stdout stays free for sinks that print. */
export type Logger = PinoLogger;

/** Keys never printed, wherever they appear in a log object (secrets come from the environment). */
const REDACT = ['password', 'sasl.password', '*.password', 'secretAccessKey', '*.secretAccessKey', 'sessionToken', '*.sessionToken'];

export function createLogger(options: { name?: string; level?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'streamline',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACT, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that prints nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
