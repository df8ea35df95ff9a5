/** One line of `check`: an item, whether it passed, what was found, and for a failure the fix. */
export interface CheckResult {
  /** What was checked, naming its setting: `Kafka topic (KAFKA_TOPIC)`. */
  readonly item: string;
  /** `skipped`: not checked because something it needs failed (reported on its own line). */
  readonly status: 'pass' | 'fail' | 'skipped';
  readonly detail: string;
  /** What to do about a failure. */
  readonly fix?: string;
}

export function pass(item: string, detail: string): CheckResult {
  return { item, status: 'pass', detail };
}

export function fail(item: string, detail: string, fix?: string): CheckResult {
  return { item, status: 'fail', detail, ...(fix ? { fix } : {}) };
}

export function skipped(item: string, why: string): CheckResult {
  return { item, status: 'skipped', detail: why };
}

const MARK = { pass: '✓', fail: '✗', skipped: '–' } as const;

/** `✓ item: detail`, and for a failure an indented `fix:` line. */
export function formatCheckResult(result: CheckResult): string {
  const line = `${MARK[result.status]} ${result.item}: ${result.detail}`;
  return result.fix === undefined ? line : `${line}\n    fix: ${result.fix}`;
}

/** The message of an error without the stack, for a ✗ line. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const name = error.name !== 'Error' && !error.message.includes(error.name) ? `${error.name}: ` : '';
  return `${name}${error.message}${typeof code === 'string' && !error.message.includes(code) ? ` (${code})` : ''}`;
}
