/** Numbers, sizes and ages as `inspect` prints them. */

/** `97,000`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `812 B`, `64.1 KiB`, `18.2 MiB`, `1.3 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A duration in its two largest units: `45 s`, `2 min 5 s`, `3 h 2 min`, `4 d 1 h`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor((s % 86_400) / 3_600), 'h'],
    [Math.floor((s % 3_600) / 60), 'min'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return '0 s';
  return parts
    .slice(first, first + 2)
    .filter(([n], i) => i === 0 || n > 0)
    .map(([n, unit]) => `${n} ${unit}`)
    .join(' ');
}

/** `2026-11-01T10:00:00Z (2 min 5 s ago)`, or `in …` for a time ahead. */
export function formatTime(epochMs: number, now: number): string {
  const iso = new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return epochMs <= now ? `${iso} (${formatDuration(now - epochMs)} ago)` : `${iso} (in ${formatDuration(epochMs - now)})`;
}
