import { isatty } from 'node:tty';
import { pino } from 'pino';

/** Erase the current terminal line: carriage return + erase to end of line. */
const CLEAR_LINE = '\r\x1b[K';
/** SGR colour sequences. */
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Whole lines to a file descriptor (stderr), plus, on a terminal, one status line kept below
 * them and redrawn in place: every write clears it first and draws it again after, so log lines
 * and the status never mix. Writes are synchronous (pino's SonicBoom, which retries when a
 * non-blocking pipe is full): a line is out before the process can exit.
 */
export class TerminalWriter {
  readonly isTTY: boolean;
  private status: string | undefined;
  private readonly out: { write(text: string): unknown };

  constructor(fd: number, out?: { write(text: string): unknown }, isTTY = isatty(fd)) {
    this.isTTY = isTTY;
    this.out = out ?? pino.destination({ dest: fd, sync: true });
  }

  /** Colours are for terminals, unless NO_COLOR is set (no-color.org). */
  get colors(): boolean {
    return this.isTTY && !process.env.NO_COLOR;
  }

  /** Writes `text` (whole lines, ending in a newline). */
  write(text: string): void {
    // On a terminal the line may start over another thread's status line: clear it either way.
    if (!this.isTTY) this.out.write(text);
    else this.out.write(`${CLEAR_LINE}${text}${this.status ?? ''}`);
  }

  /** Shows `line` in place below the log (terminals only; elsewhere ignored); undefined removes it. */
  setStatus(line: string | undefined): void {
    if (!this.isTTY) return;
    const columns = process.stderr.columns;
    const width = columns !== undefined && columns >= 20 ? columns : 120;
    // A wrapped line could not be redrawn in place: cut it (without its colours) to the width.
    const plain = line?.replace(ANSI, '');
    const fitted = line === undefined || plain === undefined ? undefined : plain.length >= width ? `${plain.slice(0, Math.max(0, width - 2))}…` : line;
    if (fitted === this.status) return;
    this.status = fitted;
    this.out.write(`${CLEAR_LINE}${fitted ?? ''}`);
  }
}

let stderr: TerminalWriter | undefined;

/** The process's stderr (fd 2) as a terminal writer: one per thread, shared by its loggers and its status line. */
export function stderrTerminal(): TerminalWriter {
  return (stderr ??= new TerminalWriter(2));
}
