import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { BusyMeter } from './execution/step-busy-timer.js';
import type { Clock } from './time/clock.js';
import { systemClock } from './time/system-clock.js';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** Labels of a per-operator series. */
export interface OperatorLabels {
  readonly job: string;
  readonly operator: string;
}

/**
 * Every metric the framework exports, defined once so names, help texts and label sets stay
 * consistent (Prometheus conventions: `_total`, `_seconds`, `_bytes`). Label values are bounded:
 * job, operator (step id), topic, partition, reason — never record contents.
 */
export class MetricsRegistry {
  readonly registry = new Registry();

  readonly recordsIn = this.counter('streamline_records_in_total', 'Records received by an operator.', ['job', 'operator']);
  readonly recordsOut = this.counter('streamline_records_out_total', 'Records emitted by an operator.', ['job', 'operator']);
  readonly deadLetters = this.counter('streamline_dead_letters_total', 'Records sent to the dead-letter destination.', ['job', 'operator', 'reason']);
  readonly backpressureSeconds = this.counter('streamline_backpressure_seconds_total', 'Time sources waited for pipeline capacity.', ['job', 'operator']);
  /** Fed from {@link busyMeter} at scrape time (steps add to a plain number per batch). */
  readonly stepBusySeconds: Counter<'job' | 'operator'>;
  readonly kafkaPausedSeconds = this.counter('streamline_kafka_paused_seconds_total', 'Time the Kafka consumer kept its partitions paused because the source queue was full.', ['job', 'operator']);

  readonly consumerLag = this.gauge('streamline_kafka_consumer_lag_records', 'High watermark minus the next offset to read.', ['job', 'topic', 'partition']);
  /** Computed at scrape time from {@link observeWatermark}, so an idle stream's lag keeps growing. */
  readonly watermarkLagSeconds: Gauge<'job' | 'operator'>;

  readonly checkpointsStarted = this.counter('streamline_checkpoints_started_total', 'Checkpoints triggered.', ['job']);
  readonly checkpointsCompleted = this.counter('streamline_checkpoints_completed_total', 'Checkpoints completed (metadata durable).', ['job']);
  readonly checkpointsFailed = this.counter('streamline_checkpoints_failed_total', 'Checkpoints that failed or timed out.', ['job']);
  readonly checkpointDuration = this.histogram('streamline_checkpoint_duration_seconds', 'Trigger to metadata durable.', ['job'], [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
  readonly checkpointStartDelay = this.histogram(
    'streamline_checkpoint_start_delay_seconds',
    'From when a checkpoint was due to when its barriers were queued at the sources (how late control work ran on the task loop).',
    ['job'],
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  );
  readonly checkpointSyncDuration = this.histogram(
    'streamline_checkpoint_sync_duration_seconds',
    'Synchronous phase: from trigger until every task acknowledged its barrier (alignment included).',
    ['job'],
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly checkpointAsyncDuration = this.histogram(
    'streamline_checkpoint_async_duration_seconds',
    'Asynchronous phase: from the last acknowledgement until every task state (keyed state files included) was durable.',
    ['job'],
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  readonly checkpointAlignment = this.histogram(
    'streamline_checkpoint_alignment_seconds',
    'Time a union blocked an input that had delivered its barrier while waiting for the others.',
    ['job'],
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5],
  );
  readonly checkpointSize = this.gauge('streamline_checkpoint_size_bytes', 'Full size of the state of the last completed checkpoint, as stored (incremental state counts its whole chain).', ['job']);
  readonly checkpointWrittenBytes = this.gauge('streamline_checkpoint_written_bytes', 'Bytes the last completed checkpoint wrote (incremental: only what changed).', ['job']);
  readonly checkpointWrittenBytesTotal = this.counter('streamline_checkpoint_written_bytes_total', 'Bytes written by completed checkpoints.', ['job']);
  readonly lastCheckpointId = this.gauge('streamline_checkpoint_last_completed_id', 'Id of the last completed checkpoint.', ['job']);
  readonly lastCheckpointTimestamp = this.gauge('streamline_checkpoint_last_completed_timestamp_seconds', 'Unix time of the last completed checkpoint (age = time() - this).', ['job']);
  /** Computed at scrape time: since the last completed checkpoint, or since the job started in this process if none completed yet. */
  readonly checkpointAgeSeconds: Gauge<'job'>;

  readonly sinkFiles = this.counter('streamline_sink_files_total', 'Data files written by a sink.', ['job', 'operator']);
  readonly sinkBytes = this.counter('streamline_sink_bytes_total', 'Bytes of data files written by a sink.', ['job', 'operator']);
  readonly sinkRows = this.counter('streamline_sink_rows_total', 'Rows written into data files by a sink.', ['job', 'operator']);
  readonly sinkBufferedBytes = this.gauge('streamline_sink_buffered_bytes', 'Bytes a sink holds in memory against its write buffer budget (rows not yet taken by an encoder).', ['job', 'operator']);
  readonly sinkCommits = this.counter('streamline_sink_commits_total', 'Commits published (e.g. Iceberg snapshots).', ['job', 'operator']);
  readonly sinkCommittedRows = this.counter('streamline_sink_committed_rows_total', 'Rows of the data files published by commits (what the table gained).', ['job', 'operator']);
  readonly sinkCommitDuration = this.histogram('streamline_sink_commit_duration_seconds', 'Latency of one sink commit including retries.', ['job', 'operator'], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly sinkCommitConflicts = this.counter('streamline_sink_commit_conflicts_total', 'Optimistic-concurrency conflicts retried by a sink.', ['job', 'operator']);
  readonly fencedCommits = this.counter('streamline_fenced_commits_total', 'Commits refused because this instance lost its lease.', ['job', 'kind']);
  readonly maintenanceRuns = this.counter('streamline_maintenance_runs_total', 'Table maintenance passes run inside the job (MAINTAIN_INTERVAL_MS), by outcome: ok, or failed (some task failed).', ['job', 'outcome']);
  readonly maintenanceDuration = this.histogram('streamline_maintenance_duration_seconds', 'Duration of one maintenance pass run inside the job (the next commit waits for it).', ['job'], [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300]);

  readonly stateSplitConflicts = this.counter(
    'streamline_state_split_conflicts_total',
    "Times a key arrived from another source partition than the one its state belongs to (counted when the current key changes): keyBy does not follow the topic's partitioning.",
    ['job', 'operator'],
  );

  readonly eventLoopDelay = this.histogram(
    'streamline_event_loop_delay_seconds',
    "How late the event loop ran a timer (perf_hooks.monitorEventLoopDelay, sampled every 10 ms): what a lease renewal, a health probe or a signal waits for.",
    [],
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );

  readonly restores = this.counter('streamline_restores_total', 'Times the job restored from a checkpoint.', ['job']);
  readonly starts = this.counter('streamline_job_starts_total', 'Times the job started in this process.', ['job']);
  readonly ready = this.gauge('streamline_job_ready', '1 when the job is restored and consuming.', ['job']);
  readonly parallelism = this.gauge('streamline_job_parallelism', "Threads running the job's pipeline in this process: parallel subtasks, or 1.", ['job']);
  readonly leaseHeld = this.gauge('streamline_ha_lease_held', '1 while this instance holds the job lease; 0 while standby, after losing it, and while the HA store has not confirmed it past its expiry (commits wait).', ['job']);
  readonly assignments = this.counter('streamline_group_assignments_total', 'Assignments this instance received from its group (group mode: one per rebalance).', ['job']);
  readonly assignedSplits = this.gauge('streamline_group_assigned_splits', 'Source splits (Kafka partitions) this instance owns now (group mode).', ['job']);
  readonly runRestarts = this.counter('streamline_group_run_restarts_total', 'Runs restarted on the same assignment because another instance had published progress for its splits (group mode).', ['job']);

  private readonly remotes = new Set<() => Promise<readonly unknown[]>>();
  /** Cumulative series (counters, histograms) of remotes that were removed. */
  private retired: MetricJson[] = [];
  private readonly watermarks = new Map<string, { labels: OperatorLabels; timestamp: number }>();
  private readonly jobStartedAt = new Map<string, number>();
  private readonly busyMeters = new Map<string, { labels: OperatorLabels; meter: BusyMeter; publishedMs: number }>();
  private readonly now: () => number;

  constructor(options: { defaultMetrics?: boolean; clock?: Clock } = {}) {
    const clock = options.clock ?? systemClock;
    const now = (this.now = () => clock.now());
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    const watermarks = this.watermarks;
    this.watermarkLagSeconds = new Gauge({
      name: 'streamline_watermark_lag_seconds',
      help: 'Wall clock minus the current event-time watermark of a source or operator.',
      labelNames: ['job', 'operator'],
      registers: [this.registry],
      // Over parallel subtasks the step's watermark is the lowest one: its lag the highest.
      aggregator: 'max',
      collect() {
        const wall = now();
        for (const { labels, timestamp } of watermarks.values()) this.set(labels, Math.max(0, (wall - timestamp) / 1000));
      },
    });
    const busyMeters = this.busyMeters;
    this.stepBusySeconds = new Counter({
      name: 'streamline_step_busy_seconds_total',
      help: "Time a step spent working on the task's loop, without the steps it called downstream (a sink: while a write was in flight). rate() of it is the fraction of time busy.",
      labelNames: ['job', 'operator'],
      registers: [this.registry],
      collect() {
        for (const entry of busyMeters.values()) {
          const delta = entry.meter.ms - entry.publishedMs;
          if (delta <= 0) continue;
          this.inc(entry.labels, delta / 1000);
          entry.publishedMs = entry.meter.ms;
        }
      },
    });
    const lastCompleted = this.lastCheckpointTimestamp;
    const startedAt = this.jobStartedAt;
    this.checkpointAgeSeconds = new Gauge({
      name: 'streamline_checkpoint_last_completed_age_seconds',
      help: 'Seconds since the last completed checkpoint (since the job started in this process when none completed yet).',
      labelNames: ['job'],
      registers: [this.registry],
      async collect() {
        const since = new Map(startedAt);
        for (const v of (await lastCompleted.get()).values) since.set(String(v.labels.job), v.value * 1000);
        const wall = now();
        for (const [job, ms] of since) this.set({ job }, Math.max(0, (wall - ms) / 1000));
      },
    });
  }

  /**
   * Starts a job's series at zero so `rate()`/`increase()` work from the first scrape and alerts
   * on counters see a value before the first event; also starts the checkpoint-age clock.
   */
  initJob(job: string): void {
    if (!this.jobStartedAt.has(job)) this.jobStartedAt.set(job, this.now());
    for (const c of [this.checkpointsStarted, this.checkpointsCompleted, this.checkpointsFailed, this.restores]) c.inc({ job }, 0);
    for (const kind of ['checkpoint', 'iceberg']) this.fencedCommits.inc({ job, kind }, 0);
    this.ready.inc({ job }, 0);
  }

  /** The event-time watermark of a source or operator advanced; `Infinity` (end of input) drops the series. */
  observeWatermark(labels: OperatorLabels, timestamp: number): void {
    const key = `${labels.job}\u0000${labels.operator}`;
    if (!Number.isFinite(timestamp)) {
      if (this.watermarks.delete(key)) this.watermarkLagSeconds.remove({ job: labels.job, operator: labels.operator });
      return;
    }
    this.watermarks.set(key, { labels: { job: labels.job, operator: labels.operator }, timestamp });
  }

  /**
   * The busy-time meter of a step (one per job and step, shared by the runs of this process):
   * steps add milliseconds to it per batch; scrapes publish it as `streamline_step_busy_seconds_total`.
   */
  busyMeter(labels: OperatorLabels): BusyMeter {
    const key = `${labels.job}\u0000${labels.operator}`;
    let entry = this.busyMeters.get(key);
    if (entry === undefined) {
      entry = { labels: { job: labels.job, operator: labels.operator }, meter: { ms: 0 }, publishedMs: 0 };
      this.busyMeters.set(key, entry);
      this.stepBusySeconds.inc(entry.labels, 0);
    }
    return entry.meter;
  }

  /**
   * Metrics kept in other threads (parallel subtasks): `collect` returns their registry's
   * `getMetricsAsJSON()`; `render` sums them into this registry's. Returns the removal, to call
   * while the threads still answer: their counters and histograms stay in the totals (unless
   * `keepTotals` is false: threads that failed may not answer any more).
   */
  addRemote(collect: () => Promise<readonly unknown[]>): (keepTotals?: boolean) => Promise<void> {
    this.remotes.add(collect);
    return async (keepTotals = true) => {
      if (!this.remotes.has(collect)) return;
      if (!keepTotals) {
        this.remotes.delete(collect);
        return;
      }
      // Counters and histograms of threads that end stay in the totals: they must never go back
      // (a parallel run's subtasks end at every stop or rebalance). Gauges describe the present: dropped.
      const last = (await collect().catch(() => [])) as MetricJson[];
      const cumulative = structuredClone(last.filter((m) => String(m.type) === 'counter' || String(m.type) === 'histogram'));
      this.retired = this.retired.length === 0 ? cumulative : await AggregatorRegistry.aggregate([this.retired, cumulative]).getMetricsAsJSON();
      this.remotes.delete(collect);
    };
  }

  /** The Prometheus text of this registry, with every remote registry's series summed in. */
  async render(): Promise<string> {
    if (this.remotes.size === 0 && this.retired.length === 0) return this.registry.metrics();
    return (await this.withRemotes(await this.registry.getMetricsAsJSON())).metrics();
  }

  /**
   * The framework's own series (`streamline_*`, not the process metrics) as JSON, with every
   * remote registry's summed in — what `render` serves, for the web console and the status line.
   */
  async collect(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    const own = await Promise.all(
      this.registry
        .getMetricsAsArray()
        .filter((m) => m.name.startsWith('streamline_'))
        .map((m) => (m as unknown as { get(): Promise<MetricObjectWithValues<MetricValue<string>>> }).get()),
    );
    if (this.remotes.size === 0 && this.retired.length === 0) return own;
    return (await this.withRemotes(own)).getMetricsAsJSON();
  }

  /** `own` with the remote registries' series and those of ended remotes summed in. */
  private async withRemotes(own: MetricJson[]): Promise<Registry> {
    const remote = (await Promise.all([...this.remotes].map((collect) => collect().catch(() => [])))) as MetricJson[][];
    return AggregatorRegistry.aggregate([own, this.retired, ...remote]);
  }

  /** True when `streamline_job_ready` is 1 for at least one job (what `/readyz` requires). */
  /** Epoch ms of the newest completed checkpoint of any job in this process, if one completed. */
  async lastCheckpointCompletedAt(): Promise<number | undefined> {
    const values = (await this.lastCheckpointTimestamp.get()).values;
    return values.length === 0 ? undefined : Math.max(...values.map((v) => v.value * 1000));
  }

  async anyJobReady(): Promise<boolean> {
    return (await this.ready.get()).values.some((v) => v.value === 1);
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}
