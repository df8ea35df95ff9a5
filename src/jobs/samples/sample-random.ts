/** Picks from a list with the generator's seeded random. */
export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** Event times of generated records: `index` spread over days, with bounded jitter (out of order). */
export function sampleEventTime(index: number, random: () => number, options: { startMs?: number; perRecordMs?: number; jitterMs?: number } = {}): number {
  const start = options.startMs ?? Date.UTC(2026, 10, 1);
  const step = options.perRecordMs ?? 500;
  const jitter = options.jitterMs ?? 2_000;
  return start + index * step - Math.floor(random() * jitter);
}
