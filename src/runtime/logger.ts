import { pino, type Logger as PinoLogger } from 'pino';
import type { LogFormat } from './terminal/log-format.js';
import { formatLogLine } from './terminal/pretty-log-line.js';
import { stderrTerminal, type TerminalWriter } from './terminal/terminal-writer.js';

/** Structured logger (pino). Lines go to stderr so stdout stays free for sinks that print. */
export type Logger = PinoLogger;

/** Keys never printed, wherever they appear in a log object (secrets come from the environment). */
const REDACT = ['password', 'sasl.password', '*.password', 'secretAccessKey', '*.secretAccessKey', 'sessionToken', '*.sessionToken'];

export interface LoggerOptions {
  readonly name?: string;
  readonly level?: string;
  /** `json` (one object per line) or `pretty` (for people); default: pretty when the terminal is a TTY, else JSON. */
  readonly format?: LogFormat;
  /** Where lines go (default: this thread's stderr). */
  readonly terminal?: TerminalWriter;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const terminal = options.terminal ?? stderrTerminal();
  const format = options.format ?? (terminal.isTTY ? 'pretty' : 'json');
  const settings = {
    name: options.name ?? 'streamline',
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  if (format === 'json') return pino(settings, { write: (line: string) => terminal.write(line) });
  const colors = terminal.colors;
  return pino(settings, { write: (line: string) => terminal.write(formatLogLine(JSON.parse(line) as Record<string, unknown>, colors)) });
}

/** A logger that prints nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
