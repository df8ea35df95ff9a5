/**
 * Scale-out: the orders job (Kafka → JSON + schema → dedup → Iceberg on a local warehouse) as
 * `node dist/run.js jobs/orders --scale-out group` processes, reading the same pre-produced
 * 6-partition topic with one instance and then with two (fresh consumer group and table each).
 * Measured in steady state — once every instance owns its partitions and has warmed up — as the
 * rows per second reaching the sink over a fixed window, read from the instances' /metrics;
 * process start, group join and JIT warm-up are excluded (they are a few seconds per start).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './bench-entry.js';
import { ensureServices, uniqueName } from '../test/helpers/services.js';
import orders from '../src/jobs/orders.js';
import { loadKafkaConfig } from '../src/operators/kafka/kafka-config.js';
import { kafkaJsClient } from '../src/operators/kafka/kafkajs-client.js';
import { produce } from '../src/produce.js';
import { freePort, scrape } from '../test/integration/operations/support/job-harness.js';

const RECORDS = 1_000_000;
const PARTITIONS = 6;
/** Rows each instance processes before the window opens (JIT warm-up, first checkpoint). */
const WARM_UP_ROWS = 60_000;
const WINDOW_MS = 4_000;
const RUN_JS = fileURLToPath(new URL('../src/run.js', import.meta.url));
const JOB = { job: 'orders' };
const SINK = { job: 'orders', operator: 'orders.table' };

interface Instance {
  readonly port: number;
  readonly child: ChildProcess;
}

/** Rows/s reaching the sink, summed over `count` instances in one group, and the CPU cores they kept busy. */
async function steadyRate(brokers: string[], topic: string, count: number): Promise<{ rowsPerSecond: number; cores: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-scale-out-'));
  const groupId = uniqueName('bench-scale-out-');
  const instances: Instance[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const child = spawn(process.execPath, [RUN_JS, 'jobs/orders'], {
        stdio: 'ignore',
        env: {
          PATH: process.env.PATH ?? '',
          KAFKA_BROKERS: brokers.join(','),
          KAFKA_TOPIC: topic,
          KAFKA_GROUP_ID: groupId,
          KAFKA_DLQ_TOPIC: `${topic}.dlq`,
          SCALE_OUT: 'group',
          STREAMLINE_WORK_DIR: join(dir, `instance-${i}`),
          WAREHOUSE: join(dir, 'warehouse'),
          CHECKPOINT_URI: `file://${join(dir, 'checkpoints')}`,
          CHECKPOINT_INTERVAL_MS: '1000',
          METRICS_PORT: String(port),
          LOG_LEVEL: 'warn',
        },
      });
      instances.push({ port, child });
    }
    const sample = async () => {
      const scrapes = await Promise.all(instances.map((i) => scrape(i.port)));
      if (scrapes.some((s) => s === undefined)) return undefined;
      return {
        at: performance.now(),
        rows: scrapes.map((s) => s!.sum('streamline_records_in_total', SINK) ?? 0),
        owned: scrapes.reduce((n, s) => n + (s!.sum('streamline_group_assigned_splits', JOB) ?? 0), 0),
        assignments: scrapes.map((s) => s!.sum('streamline_group_assignments_total', JOB) ?? 0),
        cpu: scrapes.reduce((n, s) => n + (s!.sum('process_cpu_seconds_total') ?? 0), 0),
      };
    };
    const deadline = Date.now() + 120_000;
    let start: NonNullable<Awaited<ReturnType<typeof sample>>> | undefined;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`${count} instance(s) did not settle and warm up within 120 s`);
      if (instances.some((i) => i.child.exitCode !== null)) throw new Error('an instance exited early');
      const s = await sample();
      if (s !== undefined && s.owned === PARTITIONS && s.rows.every((r) => r >= WARM_UP_ROWS)) {
        start = s;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const end = (await sample())!;
    if (end.assignments.some((a, i) => a !== start.assignments[i])) throw new Error('the group rebalanced during the measurement window');
    const rows = end.rows.reduce((n, r) => n + r, 0) - start.rows.reduce((n, r) => n + r, 0);
    if (end.rows.reduce((n, r) => n + r, 0) >= RECORDS * 0.95) throw new Error('the topic ran dry during the window: produce more records');
    const seconds = (end.at - start.at) / 1000;
    return { rowsPerSecond: rows / seconds, cores: (end.cpu - start.cpu) / seconds };
  } finally {
    await Promise.all(
      instances.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 60_000).unref();
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  }
}

const bench: Bench = async () => {
  const brokers = (await ensureServices({ kafka: true })).kafkaBrokers;
  const topic = uniqueName('bench-scale-out-');
  const config = loadKafkaConfig({ env: { KAFKA_BROKERS: brokers.join(',') }, jobName: 'bench' });
  await produce({ job: orders as Parameters<typeof produce>[0]['job'], client: kafkaJsClient(config), count: RECORDS, partitions: PARTITIONS, seed: 3, topic });
  const one = await steadyRate(brokers, topic, 1);
  const two = await steadyRate(brokers, topic, 2);
  return [
    {
      name: 'scale-out: orders job, 1 vs 2 instances in group mode (steady state)',
      figures: {
        'rows/s, 1 instance': Math.round(one.rowsPerSecond),
        'rows/s, 2 instances': Math.round(two.rowsPerSecond),
        'speed-up': Number((two.rowsPerSecond / one.rowsPerSecond).toFixed(2)),
        'CPU cores busy, 1 instance': Number(one.cores.toFixed(2)),
        'CPU cores busy, 2 instances': Number(two.cores.toFixed(2)),
      },
      note: `${PARTITIONS} partitions, local warehouse, checkpoints every 1 s; a ${WINDOW_MS / 1000} s window after every instance owned its partitions and processed ${WARM_UP_ROWS.toLocaleString('en-US')} rows; 2 cores shared with the broker`,
    },
  ];
};

export default bench;
