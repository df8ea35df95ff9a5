/**
 * Runs `run.js` as an operator would — a child process — and observes it from outside only:
 * its HTTP endpoints, its checkpoint folder, its Iceberg table (pyiceberg), Kafka's committed
 * offsets. The run.js used is the one compiled beside this test (same build as the test).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { readIcebergTable, type IcebergReadResult } from '../../../helpers/services.js';

const run = promisify(execFile);

/** Compiled entry points of the build this test belongs to. */
export const RUN_JS = fileURLToPath(new URL('../../../../src/run.js', import.meta.url));
export const PRODUCE_JS = fileURLToPath(new URL('../../../../src/produce.js', import.meta.url));

/** A free TCP port on 127.0.0.1 (closed again; the job binds it moments later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** How a job process ended. */
export interface JobExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly ms: number;
}

/** A running `node run.js jobs/orders …`. */
export class JobProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<JobExitStatus>;
  private output = '';
  private readonly started = performance.now();

  constructor(args: readonly string[], env: Readonly<Record<string, string | undefined>>) {
    this.child = spawn(process.execPath, [RUN_JS, ...args], { env: { ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal, ms: performance.now() - this.started })));
  }

  /** Everything the process wrote (pino JSON lines). */
  get log(): string {
    return this.output;
  }

  /** Last lines of the log, for assertion messages. */
  tail(lines = 15): string {
    return this.output.trim().split('\n').slice(-lines).map((l) => l.slice(0, 400)).join('\n');
  }

  signal(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }

  /** Waits for the exit, killing the process (SIGKILL) if it takes longer than `ms`. */
  async exit(ms: number): Promise<JobExitStatus> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Test cleanup: never leave a job running. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Prometheus text parsed: series `name{a="x",b="y"}` (labels sorted) → value. */
export class Scrape {
  constructor(readonly series: ReadonlyMap<string, { name: string; labels: Record<string, string>; value: number }>) {}

  static parse(text: string): Scrape {
    const series = new Map<string, { name: string; labels: Record<string, string>; value: number }>();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (match === null) continue;
      const labels: Record<string, string> = {};
      for (const m of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
      const key = `${match[1]}{${Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`).join(',')}}`;
      series.set(key, { name: match[1]!, labels, value: Number(match[3]) });
    }
    return new Scrape(series);
  }

  /** Every series of a metric whose labels include `where`. */
  all(name: string, where: Record<string, string> = {}): { labels: Record<string, string>; value: number }[] {
    return [...this.series.values()].filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
  }

  /** Sum over the matching series; undefined when there is none (absent ≠ 0). */
  sum(name: string, where: Record<string, string> = {}): number | undefined {
    const found = this.all(name, where);
    return found.length === 0 ? undefined : found.reduce((n, s) => n + s.value, 0);
  }
}

/** GET on the job's HTTP port; status and body, or status 0 when nothing answers. */
export async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3_000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

export async function scrape(port: number): Promise<Scrape | undefined> {
  const { status, body } = await httpGet(port, '/metrics');
  return status === 200 ? Scrape.parse(body) : undefined;
}

/** Polls `probe` every `everyMs` until it returns a value other than undefined; fails after `ms`. */
export async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>, everyMs = 200): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** What produce.js printed. */
export interface ProduceSummary {
  readonly produced: number;
  readonly bad: number;
  readonly badIds?: number[];
  readonly topic: string;
}

/**
 * Runs produce.js for the orders job (with the Kafka client `client`, kafkajs by default). Keyed
 * by generator index unless `keyBy: 'record'` (by order id, as the order service keys them): the
 * index lets a test tell malformed records apart.
 */
export async function produceOrders(
  brokers: readonly string[],
  topic: string,
  options: { count: number; seed: number; badFraction?: number; rate?: number; partitions?: number; keyBy?: 'index' | 'record'; client?: 'kafkajs' | 'platformatic' },
): Promise<ProduceSummary> {
  const args = [PRODUCE_JS, 'orders', '--count', String(options.count), '--seed', String(options.seed), '--topic', topic, '--partitions', String(options.partitions ?? 3), '--key-by', options.keyBy ?? 'index'];
  if (options.badFraction !== undefined) args.push('--bad-fraction', String(options.badFraction));
  if (options.rate !== undefined) args.push('--rate', String(options.rate));
  const { stdout } = await run(process.execPath, args, { env: { ...process.env, KAFKA_BROKERS: brokers.join(','), KAFKA_CLIENT: options.client ?? 'kafkajs' }, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as ProduceSummary;
}

/** A Kafka message of the input topic as the test sees it. */
export interface TopicRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  /** order_id when the value is JSON with one; undefined for broken JSON. */
  readonly orderId: string | undefined;
}

/** Reads every message of `topic` (from the beginning up to the current end offsets). */
export async function readTopic(brokers: readonly string[], topic: string): Promise<TopicRecord[]> {
  const kafka = new kafkajs.Kafka({ clientId: 'opsx-test-reader', brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.map((e) => [e.partition, Number(e.high)]));
  const records: TopicRecord[] = [];
  const total = [...remaining.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return records;
  const consumer = kafka.consumer({ groupId: `opsx-reader-${Date.now()}-${Math.random().toString(36).slice(2)}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reading ${topic}: got ${records.length} of ${total} messages`)), 120_000);
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          const end = remaining.get(batch.partition) ?? 0;
          for (const m of batch.messages) {
            if (Number(m.offset) >= end) continue;
            let orderId: string | undefined;
            try {
              const value = JSON.parse(m.value?.toString() ?? '') as { order_id?: unknown };
              orderId = typeof value.order_id === 'string' ? value.order_id : undefined;
            } catch {
              orderId = undefined;
            }
            records.push({ partition: batch.partition, offset: Number(m.offset), key: m.key?.toString() ?? '', orderId });
          }
          if (records.length >= total) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return records;
}

/** Order ids a correct job writes for these records: valid ones (not in badIds), deduplicated. */
export function expectedOrderIds(records: readonly TopicRecord[], badIds: readonly number[] | undefined): Set<string> {
  const bad = new Set((badIds ?? []).map(String));
  const ids = new Set<string>();
  for (const r of records) if (!bad.has(r.key) && r.orderId !== undefined) ids.add(r.orderId);
  return ids;
}

/** Committed offsets of a consumer group on a topic, by partition (absent when never committed). */
export async function committedOffsets(brokers: readonly string[], groupId: string, topic: string): Promise<Map<number, number>> {
  const kafka = new kafkajs.Kafka({ clientId: 'opsx-test-admin', brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const out = new Map<number, number>();
    for (const p of entry?.partitions ?? []) if (Number(p.offset) >= 0) out.set(p.partition, Number(p.offset));
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** Ids of completed checkpoints (those with `_metadata`) of a job in a local checkpoint folder. */
export function completedCheckpoints(checkpointDir: string, job = 'orders'): number[] {
  const dir = join(checkpointDir, job);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .flatMap((name) => {
      const match = /^chk-(\d+)$/.exec(name);
      return match && existsSync(join(dir, name, '_metadata')) ? [Number(match[1])] : [];
    })
    .sort((a, b) => a - b);
}

/** The local warehouse's `sink.orders` table read by pyiceberg; undefined before it exists. */
export async function readOrdersTable(warehouse: string, options: { column?: string; files?: boolean } = {}): Promise<IcebergReadResult | undefined> {
  const metadataDir = join(warehouse, 'sink', 'orders', 'metadata');
  const hint = join(metadataDir, 'version-hint.text');
  if (!existsSync(hint)) return undefined;
  return readIcebergTable(join(metadataDir, `${readFileSync(hint, 'utf8').trim()}.metadata.json`), options);
}

/** Creates a topic up front, so a job can start before (or while) records are produced into it. */
export async function createTopic(brokers: readonly string[], topic: string, partitions: number): Promise<void> {
  const kafka = new kafkajs.Kafka({ clientId: 'opsx-test-admin', brokers: [...brokers], logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: false });
    // Leaders appear shortly after creation; until then metadata answers UNKNOWN_TOPIC_OR_PARTITION.
    await waitFor(`topic ${topic} to have leaders`, 30_000, async () => {
      const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
      return offsets.length === partitions ? true : undefined;
    });
  } finally {
    await admin.disconnect();
  }
}

/** Order ids in the table (pyiceberg), sorted; duplicates kept so a test can see them. */
export async function tableOrderIds(warehouse: string): Promise<{ ids: string[]; lastSummary: Record<string, string> | undefined }> {
  const table = await readOrdersTable(warehouse, { column: 'order_id' });
  if (table === undefined) return { ids: [], lastSummary: undefined };
  return { ids: (table.column?.values ?? []).map(String), lastSummary: table.snapshots.at(-1)?.summary };
}
