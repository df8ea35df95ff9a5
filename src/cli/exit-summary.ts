import { fileURLToPath } from 'node:url';
import type { JobOverview } from '../runtime/console/job-overview.js';
import type { OutputDescription } from '../runtime/sink.js';
import { formatAge, formatCount } from './status-line.js';

/** How the run ended. */
export type RunOutcome = 'finished' | 'stopped' | 'failed';

/** What a run did, printed when the process ends: what landed where, and how to read it. */
export interface RunSummary {
  readonly job: string;
  readonly outcome: RunOutcome;
  readonly runtimeMs: number;
  /** Rows the sinks' commits published in this process. */
  readonly rowsCommitted: number;
  readonly commits: number;
  readonly outputs: readonly {
    readonly step: string;
    readonly name: string;
    /** A path for local tables, else the URI. */
    readonly location: string;
    readonly catalog: string;
    readonly totalRows: number | undefined;
    /** A command that reads the output as of now; undefined when it cannot be read yet (no metadata). */
    readonly readCommand: string | undefined;
  }[];
  readonly lastCheckpoint: { readonly id: number; readonly location: string | undefined } | undefined;
  readonly deadLetters: { readonly total: number; readonly byReason: readonly { readonly reason: string; readonly count: number }[]; readonly location: string | undefined };
  readonly error?: string;
}

export function runSummary(overview: JobOverview, outcome: RunOutcome, error?: Error): RunSummary {
  const last = [...overview.checkpoints.history].reverse().find((c) => c.status === 'completed');
  const reasons = new Map<string, number>();
  for (const r of overview.deadLetters.byReason) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + r.count);
  return {
    job: overview.job,
    outcome,
    runtimeMs: Math.max(0, overview.sampledAt - overview.startedAt),
    rowsCommitted: overview.steps.reduce((n, s) => n + (s.sink?.rowsCommitted ?? 0), 0),
    commits: overview.steps.reduce((n, s) => n + (s.sink?.commits ?? 0), 0),
    outputs: overview.outputs.map((o) => ({
      step: o.step,
      name: o.name,
      location: displayLocation(o.location),
      catalog: o.catalog,
      totalRows: o.totalRows,
      readCommand: readTableCommand(o),
    })),
    lastCheckpoint: last === undefined ? undefined : { id: last.id, location: last.location === undefined ? undefined : displayLocation(last.location) },
    deadLetters: {
      total: overview.deadLetters.total,
      byReason: [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count),
      location: overview.deadLetters.location,
    },
    ...(error === undefined ? {} : { error: error.message }),
  };
}

/**
 * A one-line shell command that reads an Iceberg output with pyiceberg (independent of this
 * project) from its current metadata file and prints its row count and first rows.
 */
export function readTableCommand(output: OutputDescription): string | undefined {
  if (output.kind !== 'iceberg' || output.metadataLocation === undefined) return undefined;
  const properties = output.region === undefined ? '' : `, properties={"s3.region": ${JSON.stringify(output.region)}}`;
  const python = [
    'from pyiceberg.table import StaticTable',
    `t = StaticTable.from_metadata(${JSON.stringify(output.metadataLocation)}${properties})`,
    'rows = t.scan().to_arrow()',
    'print(rows.num_rows, "rows"); print(rows.slice(0, 3).to_pylist())',
  ].join('; ');
  return `python3 -c ${shellQuote(python)}`;
}

/** One line, for JSON logs: `orders finished after 12 s: 99,812 rows committed to sink.orders (…); read it: python3 -c …`. */
export function runSummaryMessage(summary: RunSummary): string {
  const head = `${summary.job} ${summary.outcome} after ${formatAge(summary.runtimeMs)}: ${formatCount(summary.rowsCommitted)} rows committed in ${formatCount(summary.commits)} commits`;
  const outputs = summary.outputs.map((o) => `to ${o.name} at ${o.location}${o.readCommand ? `; read it with: ${o.readCommand}` : ''}`);
  const letters = summary.deadLetters.total > 0 ? `; ${formatCount(summary.deadLetters.total)} dead letters${summary.deadLetters.location ? ` in ${summary.deadLetters.location}` : ''}` : '';
  return [head, ...outputs].join(' ') + letters + (summary.error ? `; failed: ${summary.error}` : '');
}

/** The summary as a block for a terminal. */
export function formatRunSummary(summary: RunSummary, colors: boolean): string {
  const paint = (code: string, text: string) => (colors ? `\x1b[${code}m${text}\x1b[0m` : text);
  const outcomeColour = summary.outcome === 'failed' ? '1;31' : '1;32';
  const lines = [`${paint(outcomeColour, `${summary.job} ${summary.outcome}`)} after ${formatAge(summary.runtimeMs)}`];
  const row = (label: string, value: string) => lines.push(`  ${paint('2', label.padEnd(16))}${value}`);
  if (summary.error !== undefined) row('error', paint('31', summary.error));
  row('rows committed', `${formatCount(summary.rowsCommitted)} in ${formatCount(summary.commits)} ${summary.commits === 1 ? 'commit' : 'commits'} this run`);
  for (const output of summary.outputs) {
    row('table', `${output.name}${output.totalRows === undefined ? '' : ` (holds ${formatCount(output.totalRows)} rows)`}`);
    row('location', output.location);
    if (output.readCommand !== undefined) {
      row('read it', output.readCommand);
      row('', paint('2', "(pyiceberg: pip install 'pyiceberg[pyarrow]')"));
    }
  }
  const checkpoint = summary.lastCheckpoint;
  row('last checkpoint', checkpoint === undefined ? 'none completed' : `#${checkpoint.id}${checkpoint.location ? `  ${checkpoint.location}` : ''}`);
  const letters = summary.deadLetters;
  row(
    'dead letters',
    letters.total === 0
      ? 'none'
      : `${formatCount(letters.total)} (${letters.byReason.map((r) => `${r.reason} ${formatCount(r.count)}`).join(', ')})${letters.location ? ` → ${letters.location}` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

function displayLocation(location: string): string {
  if (!location.startsWith('file:')) return location;
  try {
    return fileURLToPath(location);
  } catch {
    return location;
  }
}

/** POSIX shell single quotes: everything literal, a quote closes, escapes and reopens. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
