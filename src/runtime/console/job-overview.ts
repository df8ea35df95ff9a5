import type { JobActivity, JobPhase, StepCommit } from '../activity/job-activity.js';
import type { CheckpointRecord } from '../execution/checkpoint-history.js';
import type { Dataflow } from '../graph/dataflow.js';
import type { GraphNode } from '../graph/graph-node.js';
import type { MetricsRegistry } from '../metrics-registry.js';
import type { OutputDescription } from '../sink.js';
import type { Clock } from '../time/clock.js';
import { MetricSamples } from './metric-samples.js';

/**
 * One step of the job graph with its counters since the process started. Rates (records/s,
 * busy and backpressure as fractions of time) are differences between two overviews divided by
 * the time between them; the console and the status line take them that way.
 */
export interface StepOverview {
  /** Qualified step id, e.g. `orders.dedup`. */
  readonly id: string;
  /** The step id without the flow name, e.g. `dedup`. */
  readonly name: string;
  readonly kind: GraphNode['kind'];
  /** Ids of the steps feeding this one. */
  readonly inputs: readonly string[];
  /** Runs on a keyed stream (has keyed state). */
  readonly keyed: boolean;
  /** Records received (a Kafka source: messages read); null when the step does not count them. */
  readonly recordsIn: number | null;
  readonly recordsOut: number | null;
  /** Own working time over every thread running the step (see `streamline_step_busy_seconds_total`). */
  readonly busySeconds: number;
  /**
   * Time the step could not hand its output on: a source waiting for pipeline capacity; steps
   * chained behind sources wait with them (the most of their inputs'); sinks never.
   */
  readonly backpressureSeconds: number;
  readonly deadLetters: number;
  /** Wall clock minus the step's event-time watermark; null without one. */
  readonly watermarkLagSeconds: number | null;
  /** Sinks only: what they wrote and published. */
  readonly sink?: SinkFigures;
}

export interface SinkFigures {
  readonly rowsWritten: number;
  readonly files: number;
  readonly bytes: number;
  readonly commits: number;
  readonly rowsCommitted: number;
  readonly bufferedBytes: number;
}

/** The document `/api/job` serves: everything the console shows, as of `sampledAt`. */
export interface JobOverview {
  readonly job: string;
  readonly phase: JobPhase;
  /** Epoch millis. */
  readonly phaseSince: number;
  readonly startedAt: number;
  readonly sampledAt: number;
  /** Restored and consuming (`streamline_job_ready`). */
  readonly ready: boolean;
  /** Threads running the pipeline (busy time is summed over them). */
  readonly parallelism: number;
  readonly steps: readonly StepOverview[];
  readonly checkpoints: {
    readonly started: number;
    readonly completed: number;
    readonly failed: number;
    /** Newest last. */
    readonly history: readonly CheckpointRecord[];
  };
  readonly kafka: {
    readonly partitions: readonly { readonly topic: string; readonly partition: number; readonly lag: number }[];
  };
  readonly outputs: readonly (OutputDescription & { readonly step: string })[];
  /** Newest last. */
  readonly commits: readonly StepCommit[];
  readonly deadLetters: {
    readonly total: number;
    readonly location?: string;
    readonly byReason: readonly { readonly step: string; readonly reason: string; readonly count: number }[];
  };
}

/**
 * Builds the job's overview from the same figures `/metrics` serves (in parallel mode summed over
 * the subtask threads) plus what the process recorded (checkpoints, commits, outputs). Cost per
 * call: one collection of the framework's own series; nothing is kept between calls.
 */
export class JobOverviewSource {
  constructor(
    private readonly flow: Dataflow,
    private readonly metrics: MetricsRegistry,
    private readonly activity: JobActivity,
    private readonly clock: Clock,
  ) {}

  async sample(): Promise<JobOverview> {
    const samples = new MetricSamples(await this.metrics.collect());
    const job = this.flow.name;
    const sampledAt = this.clock.now();
    const steps = this.steps(samples, job);
    const count = (name: string) => samples.sum(name, { job }) ?? 0;
    const partitions = samples
      .all('streamline_kafka_consumer_lag_records', { job })
      .map((s) => ({ topic: s.labels.topic ?? '', partition: Number(s.labels.partition), lag: s.value }))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    const byReason = samples
      .all('streamline_dead_letters_total', { job })
      .filter((s) => s.value > 0)
      .map((s) => ({ step: s.labels.operator ?? '', reason: s.labels.reason ?? '', count: s.value }));
    const location = this.activity.deadLetterLocation;
    return {
      job,
      phase: this.activity.phase,
      phaseSince: this.activity.since,
      startedAt: this.activity.startedAt,
      sampledAt,
      ready: count('streamline_job_ready') > 0,
      parallelism: Math.max(1, count('streamline_job_parallelism')),
      steps,
      checkpoints: {
        started: count('streamline_checkpoints_started_total'),
        completed: count('streamline_checkpoints_completed_total'),
        failed: count('streamline_checkpoints_failed_total'),
        history: this.activity.checkpoints.list(),
      },
      kafka: { partitions },
      outputs: this.activity.outputs().map(({ step, output }) => ({ step, ...output })),
      commits: this.activity.commits(),
      deadLetters: { total: byReason.reduce((n, r) => n + r.count, 0), ...(location === undefined ? {} : { location }), byReason },
    };
  }

  private steps(samples: MetricSamples, job: string): StepOverview[] {
    const backpressure = new Map<string, number>();
    const result: StepOverview[] = [];
    // Declaration order puts every input before its consumers, so chained steps can take their inputs' backpressure.
    for (const node of this.flow.graph()) {
      const where = { job, operator: node.id };
      const figure = (name: string) => samples.sum(name, where);
      const inputs = inputsOf(node);
      const waited = node.kind === 'source' ? (figure('streamline_backpressure_seconds_total') ?? 0) : node.kind === 'sink' ? 0 : Math.max(0, ...inputs.map((id) => backpressure.get(id) ?? 0));
      backpressure.set(node.id, waited);
      const lag = figure('streamline_watermark_lag_seconds');
      result.push({
        id: node.id,
        name: node.id.slice(this.flow.name.length + 1),
        kind: node.kind,
        inputs,
        keyed: node.kind === 'operator' && node.keySelector !== undefined,
        recordsIn: figure('streamline_records_in_total') ?? null,
        recordsOut: figure('streamline_records_out_total') ?? null,
        busySeconds: figure('streamline_step_busy_seconds_total') ?? 0,
        backpressureSeconds: waited,
        deadLetters: figure('streamline_dead_letters_total') ?? 0,
        watermarkLagSeconds: lag ?? null,
        ...(node.kind === 'sink'
          ? {
              sink: {
                rowsWritten: figure('streamline_sink_rows_total') ?? 0,
                files: figure('streamline_sink_files_total') ?? 0,
                bytes: figure('streamline_sink_bytes_total') ?? 0,
                commits: figure('streamline_sink_commits_total') ?? 0,
                rowsCommitted: figure('streamline_sink_committed_rows_total') ?? 0,
                bufferedBytes: figure('streamline_sink_buffered_bytes') ?? 0,
              },
            }
          : {}),
      });
    }
    return result;
  }
}

function inputsOf(node: GraphNode): string[] {
  switch (node.kind) {
    case 'source':
      return [];
    case 'union':
      return node.inputs.map((n) => n.id);
    default:
      return [node.input.id];
  }
}
