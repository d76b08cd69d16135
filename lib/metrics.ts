/**
 * Prometheus text exposition (format 0.0.4), small enough to read: metric families rendered from samples, and a
 * histogram that counts observations in this process. The gateway builds its `GET /metrics` from these; the
 * workers' metrics come from the Temporal SDK's own exporter.
 */
export type Labels = Record<string, string>;

export interface Sample {
  /** Appended to the family's name (`_bucket`, `_sum`, `_count`). */
  suffix?: string;
  labels: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: Sample[];
}

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function renderLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(',')}}`;
}

function renderValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export function renderFamilies(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(`${family.name}${sample.suffix ?? ''}${renderLabels(sample.labels)} ${renderValue(sample.value)}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** One histogram series as counted somewhere (here, or by a database query): cumulative bucket counts. */
export interface HistogramSeries {
  labels: Labels;
  /** Observations at or below each bound, in the order of the bounds. */
  bucketCounts: number[];
  sum: number;
  count: number;
}

/** The samples of histogram series, with the `+Inf` bucket equal to the count. */
export function histogramFamily(
  name: string,
  help: string,
  bounds: readonly number[],
  series: readonly HistogramSeries[],
): MetricFamily {
  const samples: Sample[] = [];
  for (const { labels, bucketCounts, sum, count } of series) {
    bounds.forEach((bound, index) =>
      samples.push({ suffix: '_bucket', labels: { ...labels, le: String(bound) }, value: bucketCounts[index] ?? 0 }),
    );
    samples.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: count });
    samples.push({ suffix: '_sum', labels, value: sum });
    samples.push({ suffix: '_count', labels, value: count });
  }
  return { name, help, type: 'histogram', samples };
}

/** A histogram counted in this process, one series per distinct label set. */
export class Histogram {
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = JSON.stringify(labels);
    let series = this.series.get(key);
    if (!series) {
      series = { labels, bucketCounts: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    this.bounds.forEach((bound, index) => {
      if (value <= bound) series.bucketCounts[index]! += 1;
    });
    series.sum += value;
    series.count += 1;
  }

  family(): MetricFamily {
    return histogramFamily(this.name, this.help, this.bounds, [...this.series.values()]);
  }
}

/** What every Node.js process reports about itself under the usual names. */
export function processFamilies(): MetricFamily[] {
  const usage = process.cpuUsage();
  const memory = process.memoryUsage();
  const gauge = (name: string, help: string, value: number): MetricFamily => ({
    name,
    help,
    type: 'gauge',
    samples: [{ labels: {}, value }],
  });
  return [
    {
      name: 'process_cpu_seconds_total',
      help: 'User and system CPU time spent, in seconds.',
      type: 'counter',
      samples: [{ labels: {}, value: (usage.user + usage.system) / 1e6 }],
    },
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', memory.rss),
    gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', memory.heapUsed),
    gauge(
      'process_start_time_seconds',
      'Start time of the process since the Unix epoch, in seconds.',
      Math.round(Date.now() / 1000 - process.uptime()),
    ),
  ];
}
