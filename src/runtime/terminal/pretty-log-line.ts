/**
 * One pino log object as a line for people (LOG_FORMAT=pretty, or stderr a terminal):
 * `14:03:07.123 INFO  orders  checkpoint complete  checkpoint=3 ms=120`, the error's stack below
 * errors. Our own small formatter rather than pino-pretty: a few lines instead of a dependency
 * tree, and it knows which fields every line carries (pid, name) and which ones say where it comes from.
 */

const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '90' },
  30: { name: 'INFO ', colour: '32' },
  40: { name: 'WARN ', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '1;31' },
};

/** Fields that are on every line or shown in the prefix rather than as `key=value`. */
const SHOWN_ELSEWHERE = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v', 'job', 'subtask', 'instance', 'err']);

/** A plain identifier-like value prints as is; anything else as JSON (quoted, escaped). */
const BARE = /^[\w.:/@+-]+$/;

export function formatLogLine(entry: Readonly<Record<string, unknown>>, colors: boolean): string {
  const paint = (code: string, text: string) => (colors ? `\x1b[${code}m${text}\x1b[0m` : text);
  const level = LEVELS[Number(entry.level)] ?? { name: String(entry.level).toUpperCase().padEnd(5), colour: '0' };
  const time = typeof entry.time === 'number' ? clockTime(entry.time) : '';
  const where = [entry.job, entry.instance, entry.subtask === undefined ? undefined : `subtask ${String(entry.subtask)}`].filter((p) => p !== undefined).join(' ');
  const fields: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    if (SHOWN_ELSEWHERE.has(key) || value === undefined) continue;
    fields.push(`${paint('2', `${key}=`)}${formatValue(value)}`);
  }
  const err = entry.err as { type?: string; message?: string; stack?: string } | undefined;
  let line = `${paint('2', time)} ${paint(level.colour, level.name)} ${where === '' ? '' : `${paint('36', where)}  `}${String(entry.msg ?? '')}`;
  if (fields.length > 0) line += `  ${fields.join(' ')}`;
  if (err !== undefined) {
    const message = err.message ?? '';
    if (message !== '' && !String(entry.msg ?? '').includes(message)) line += `  ${paint('31', `${err.type ?? 'Error'}: ${message}`)}`;
    if (Number(entry.level) >= 50 && typeof err.stack === 'string') {
      line += `\n${paint('2', err.stack.split('\n').slice(1).map((l) => `    ${l.trim()}`).join('\n'))}`;
    }
  }
  return `${line}\n`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return BARE.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value);
}

/** Local wall time with milliseconds, `HH:MM:SS.mmm`. */
function clockTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}
