/** The MAINTAIN_* settings (table maintenance: `maintain <job>`, MAINTAIN_INTERVAL_MS), as flags of run.js. */
import type { RunFlag } from './run-flag.js';

export const MAINTENANCE_FLAGS: readonly RunFlag[] = [
  { flag: 'maintain-interval-ms', env: 'MAINTAIN_INTERVAL_MS', help: 'Run table maintenance inside the job after a commit, at most this often (0: never; `maintain <job>` runs it from outside).', default: '0' },
  { flag: 'maintain-tasks', env: 'MAINTAIN_TASKS', help: 'Table maintenance tasks: comma-separated compact, expire, orphans, or none.', default: 'all three on a local warehouse; none on S3 Tables, which runs its own' },
  { flag: 'maintain-snapshots-keep', env: 'MAINTAIN_SNAPSHOTS_KEEP', help: 'Newest snapshots never expired (also S3 Tables minSnapshotsToKeep).', default: '100' },
  { flag: 'maintain-snapshot-max-age-ms', env: 'MAINTAIN_SNAPSHOT_MAX_AGE_MS', help: 'Snapshots older than this expire, beyond the ones kept (also S3 Tables maxSnapshotAgeHours, rounded up).', default: '21600000' },
  { flag: 'maintain-orphan-min-age-ms', env: 'MAINTAIN_ORPHAN_MIN_AGE_MS', help: 'Unreferenced files and checkpoints of instances that left are deleted only once this old (at least 60000).', default: '259200000' },
  { flag: 'maintain-compact-target-bytes', env: 'MAINTAIN_COMPACT_TARGET_BYTES', help: 'Size compaction writes files at (also the S3 Tables compaction target, 64 to 512 MiB).', default: 'TARGET_FILE_SIZE_BYTES' },
  { flag: 'maintain-compact-min-files', env: 'MAINTAIN_COMPACT_MIN_FILES', help: 'Small files (under 75 % of the target) a partition needs before it is compacted.', default: '5' },
  { flag: 'maintain-compact-max-bytes', env: 'MAINTAIN_COMPACT_MAX_BYTES', help: 'Input bytes one pass compacts at most; the rest waits for the next pass.', default: '1073741824' },
];
