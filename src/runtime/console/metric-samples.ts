import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** One series of a metric: its labels and value. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * Metric values as `MetricsRegistry.collect()` returns them (this thread's series with the
 * parallel subtasks' summed in), indexed by name for the console's questions: a sum over the
 * series whose labels match, or every series of a metric. Counters and gauges only.
 */
export class MetricSamples {
  private readonly byName = new Map<string, Sample[]>();

  constructor(metrics: readonly MetricObjectWithValues<MetricValue<string>>[]) {
    for (const metric of metrics) {
      const samples: Sample[] = [];
      for (const v of metric.values) {
        if ((v as { metricName?: string }).metricName !== undefined) continue; // histogram parts
        const labels: Record<string, string> = {};
        for (const [k, value] of Object.entries(v.labels)) if (value !== undefined) labels[k] = String(value);
        samples.push({ labels, value: v.value });
      }
      this.byName.set(metric.name, samples);
    }
  }

  /** Every series of `name` whose labels include `where`. */
  all(name: string, where: Readonly<Record<string, string>> = {}): Sample[] {
    return (this.byName.get(name) ?? []).filter((s) => Object.entries(where).every(([k, v]) => s.labels[k] === v));
  }

  /** Sum over the matching series; undefined when there is none (absent is not zero). */
  sum(name: string, where: Readonly<Record<string, string>> = {}): number | undefined {
    const found = this.all(name, where);
    return found.length === 0 ? undefined : found.reduce((n, s) => n + s.value, 0);
  }
}
