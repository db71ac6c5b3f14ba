/**
 * Metrics: TF Serving's Prometheus page (TFSERVING_SPEC.md §7) plus tfserve's own `tfserve_` metrics.
 *
 * Contract: a `ServingMetrics` holds every metric of one server. The serving layer calls its recording
 * methods (`requestDone`, `runtime`, `examples`, `warmup`, `loadAttempt`, `batch*`, `inFlight`, `queued`,
 * `versionState`) on the event loop; each costs a few nested-Map lookups and additions, no allocation
 * after a label tuple's first use. `exposition()` renders the page served at the monitoring path.
 * Latencies are whole microseconds (rounded), as TF Serving records them.
 *
 * The page has two parts. First the TensorFlow metrics, byte for byte as tensorflow_model_server's
 * PrometheusExporter prints them: metrics sorted by TF name, cells sorted by label values, no `# HELP`,
 * `:` for every character of the TF name outside [A-Za-z0-9_], `name{} v` for a metric without labels,
 * histogram `le` and `_sum` in absl's six-digit `%g` form, counters and `_count` as integers, a TYPE line
 * for a registered metric with no cells yet. One deliberate difference: a line feed in a label value
 * is escaped (`\n`); TF Serving writes it raw, which breaks its page (a model name comes from the URL).
 * Then the `tfserve_` metrics, in the same style (TYPE lines, no HELP): requests in flight and queued
 * per model, the state of each model version, and prom-client's Node process metrics.
 *
 * Why TF's metrics are not prom-client metrics: TensorFlow's histograms put a value equal to a bucket's
 * limit into the next bucket (std::upper_bound; the `le="1"` bucket of request_example_counts counts
 * requests with fewer than one example), prom-client's into that bucket; prom-client prints cells in
 * insertion order, `le` with JavaScript's number format, `_sum` without `{}` and always a HELP line; and
 * its per-call label hashing costs more than the request path should pay. So TF's metrics are small
 * cells of our own with TensorFlow's semantics, and prom-client, which owns the Node process metrics,
 * serves the `tfserve_` part through its registry's JSON (`getMetricsAsJSON`) and the same formatter.
 */
import client from 'prom-client';

/**
 * absl::StrCat(double): like printf's `%g` (six significant digits, ties to even, exponent of at least
 * two digits), what TF's exporter uses for `le` and `_sum`. Rounds the double's exact binary value,
 * so an integer sum such as 1234565 prints `1.23456e+06`, where `toPrecision(6)` would round up.
 */
export function formatSixDigits(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const abs = Math.abs(x);
  if (abs === Infinity) return `${sign}inf`;
  // abs = mantissa * 2^exp exactly; as a decimal: digits * 10^-scale.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, abs);
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  const fraction = bits & 0xf_ffff_ffff_ffffn;
  const mantissa = biased === 0 ? fraction : fraction | 0x10_0000_0000_0000n;
  const exp = (biased === 0 ? 1 : biased) - 1075;
  const digits = exp >= 0 ? mantissa << BigInt(exp) : mantissa * 5n ** BigInt(-exp);
  const scale = exp >= 0 ? 0 : -exp;
  let text = digits.toString();
  let exp10 = text.length - 1 - scale;
  if (text.length > 6) {
    const unit = 10n ** BigInt(text.length - 6);
    let kept = digits / unit;
    const rest = digits % unit;
    const half = unit / 2n;
    if (rest > half || (rest === half && (kept & 1n) === 1n)) kept += 1n;
    text = kept.toString();
    if (text.length > 6) { // 999999.5 rounded up to 1000000
      text = text.slice(0, 6);
      exp10 += 1;
    }
  }
  text = text.padEnd(6, '0');
  const trim = (s: string) => s.replace(/0+$/, '');
  if (exp10 >= -4 && exp10 < 6) {
    if (exp10 < 0) return `${sign}0.${'0'.repeat(-exp10 - 1)}${trim(text)}`;
    const fractionDigits = trim(text.slice(exp10 + 1));
    return `${sign}${text.slice(0, exp10 + 1)}${fractionDigits ? `.${fractionDigits}` : ''}`;
  }
  const tail = trim(text.slice(1));
  const e = Math.abs(exp10);
  return `${sign}${text[0]}${tail ? `.${tail}` : ''}e${exp10 < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
}

/** monitoring::Buckets::Exponential: `count` limits scale, scale*growth, ... by repeated multiplication. */
function exponentialBuckets(scale: number, growth: number, count: number): number[] {
  const limits: number[] = [];
  let bound = scale;
  for (let i = 0; i < count; i++) {
    limits.push(bound);
    bound *= growth;
  }
  return limits;
}

function metricName(tfName: string): string {
  const name = tfName.replace(/[^a-zA-Z0-9_]/g, ':');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

function labelName(name: string): string {
  const sanitized = name.replace(/[^a-zA-Z0-9]/g, '_');
  return /^[0-9]/.test(sanitized) ? `_${sanitized}` : sanitized;
}

function labelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

// std::map<std::array<string, N>> order: lexicographic over the values, each compared as UTF-8 bytes.
function compareLabels(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return Buffer.compare(Buffer.from(a[i]!), Buffer.from(b[i]!));
  }
  return 0;
}

interface Cell {
  readonly labels: readonly string[];
  /** `name="value",...` for the exposition, built once. */
  readonly text: string;
}

/** A TF metric: its cells, one per label tuple, found through one nested Map level per label. */
abstract class TfMetric<C extends Cell> {
  readonly name: string;
  readonly labelNames: readonly string[];
  readonly #sanitizedLabels: readonly string[];
  readonly #root = new Map<string, unknown>();
  #only: C | undefined;
  #cells: C[] = [];
  #sorted = true;

  constructor(
    readonly tfName: string,
    labelNames: readonly string[],
    /** Created on first use in TF Serving (a function-local static): no TYPE line before that. */
    readonly lazy = false,
  ) {
    if (labelNames.length > 3) throw new RangeError('at most 3 labels');
    this.name = metricName(tfName);
    this.labelNames = labelNames;
    this.#sanitizedLabels = labelNames.map(labelName);
  }

  protected abstract create(labels: readonly string[], text: string): C;

  protected cell(a: string, b: string, c: string): C {
    const arity = this.labelNames.length;
    if (arity === 0) return (this.#only ??= this.#add([]));
    let level = this.#root;
    if (arity >= 2) level = this.#level(level, a);
    if (arity === 3) level = this.#level(level, b);
    const key = arity === 1 ? a : arity === 2 ? b : c;
    let cell = level.get(key) as C | undefined;
    if (cell === undefined) {
      cell = this.#add(arity === 1 ? [a] : arity === 2 ? [a, b] : [a, b, c]);
      level.set(key, cell);
    }
    return cell;
  }

  #level(parent: Map<string, unknown>, key: string): Map<string, unknown> {
    let level = parent.get(key) as Map<string, unknown> | undefined;
    if (level === undefined) parent.set(key, (level = new Map()));
    return level;
  }

  #add(labels: readonly string[]): C {
    const text = labels.map((v, i) => `${this.#sanitizedLabels[i]}="${labelValue(v)}"`).join(',');
    const cell = this.create(labels, text);
    this.#cells.push(cell);
    this.#sorted = false;
    return cell;
  }

  /** The cells in TF's order (sorted by label values). */
  cells(): readonly C[] {
    if (!this.#sorted) {
      this.#cells.sort((x, y) => compareLabels(x.labels, y.labels));
      this.#sorted = true;
    }
    return this.#cells;
  }

  abstract render(lines: string[]): void;
}

interface ScalarCell extends Cell {
  value: number;
}

/** monitoring::Counter<N> (int64, only grows). */
class TfCounter extends TfMetric<ScalarCell> {
  protected create(labels: readonly string[], text: string): ScalarCell {
    return { labels, text, value: 0 };
  }

  inc(by: number, a = '', b = '', c = ''): void {
    this.cell(a, b, c).value += by;
  }

  render(lines: string[]): void {
    lines.push(`# TYPE ${this.name} counter`);
    for (const cell of this.cells()) lines.push(`${this.name}{${cell.text}} ${cell.value}`);
  }
}

interface StringCell extends Cell {
  value: string;
}

/** monitoring::Gauge<std::string, N>: the exporter prints only int64 values, so every cell reads 0. */
class TfStringGauge extends TfMetric<StringCell> {
  protected create(labels: readonly string[], text: string): StringCell {
    return { labels, text, value: '' };
  }

  set(value: string, a = '', b = '', c = ''): void {
    this.cell(a, b, c).value = value;
  }

  render(lines: string[]): void {
    lines.push(`# TYPE ${this.name} gauge`);
    for (const cell of this.cells()) lines.push(`${this.name}{${cell.text}} 0`);
  }
}

interface HistogramCell extends Cell {
  /** counts[i]: values in [limits[i-1], limits[i]); the last one: values >= the last limit. */
  readonly counts: Float64Array;
  sum: number;
}

/** monitoring::Sampler<N> with explicit limits (TF appends DBL_MAX, printed as `+Inf`). */
class TfSampler extends TfMetric<HistogramCell> {
  readonly limits: readonly number[];
  readonly #le: readonly string[];

  constructor(tfName: string, labelNames: readonly string[], limits: readonly number[], lazy = false) {
    super(tfName, labelNames, lazy);
    this.limits = limits;
    this.#le = [...limits.map(formatSixDigits), '+Inf'];
  }

  protected create(labels: readonly string[], text: string): HistogramCell {
    return { labels, text, counts: new Float64Array(this.limits.length + 1), sum: 0 };
  }

  observe(value: number, a = '', b = '', c = ''): void {
    const cell = this.cell(a, b, c);
    // std::upper_bound: the first limit greater than the value.
    const limits = this.limits;
    let lo = 0;
    let hi = limits.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (limits[mid]! > value) hi = mid;
      else lo = mid + 1;
    }
    cell.counts[lo]! += 1;
    cell.sum += value;
  }

  render(lines: string[]): void {
    lines.push(`# TYPE ${this.name} histogram`);
    for (const cell of this.cells()) {
      const prefix = `${this.name}_bucket{${cell.text}${cell.text ? ',' : ''}le="`;
      let cumulative = 0;
      for (let i = 0; i < cell.counts.length; i++) {
        cumulative += cell.counts[i]!;
        lines.push(`${prefix}${this.#le[i]}"} ${cumulative}`);
      }
      lines.push(`${this.name}_sum{${cell.text}} ${formatSixDigits(cell.sum)}`);
      lines.push(`${this.name}_count{${cell.text}} ${cumulative}`);
    }
  }
}

// Bucket limits from TF Serving's sources (util.cc, saved_model_warmup_util.cc, batching_session.cc,
// batching_util.h): latencies 10·1.8^k µs (33 limits, ~20 min), queuing 100·1.2^k µs (52, ~1 s),
// example counts 2^k (15), batch and padding sizes 2^k (14).
const LATENCY_US = exponentialBuckets(10, 1.8, 33);
const QUEUING_US = exponentialBuckets(100, 1.2, 52);
const EXAMPLE_COUNTS = exponentialBuckets(1, 2, 15);
const BATCH_SIZES = exponentialBuckets(1, 2, 14);

/** The value of a TF status label: Status::ToString(), `OK` or `<CODE>: <message>`. */
export function statusString(error?: { code: string; message: string } | null): string {
  return error ? `${error.code}: ${error.message}` : 'OK';
}

export interface ServingMetricsOptions {
  /** prom-client's Node process metrics (memory, CPU, event-loop lag, GC) as `tfserve_*`. Default true. */
  readonly processMetrics?: boolean;
}

export class ServingMetrics {
  // TF Serving's metrics (servables/tensorflow/util.cc and friends) and TF core's SavedModel loader's.
  readonly #requestCount = new TfCounter('/tensorflow/serving/request_count', ['model_name', 'status']);
  readonly #requestLatency = new TfSampler('/tensorflow/serving/request_latency', ['model_name', 'API', 'entrypoint'], LATENCY_US);
  readonly #runtimeLatency = new TfSampler('/tensorflow/serving/runtime_latency', ['model_name', 'API', 'runtime'], LATENCY_US);
  readonly #exampleCounts = new TfSampler('/tensorflow/serving/request_example_counts', ['model'], EXAMPLE_COUNTS);
  readonly #exampleCountTotal = new TfCounter('/tensorflow/serving/request_example_count_total', ['model']);
  readonly #warmupLatency = new TfSampler('/tensorflow/serving/model_warmup_latency', ['model_path', 'status'], LATENCY_US);
  readonly #warmupRecords = new TfCounter('/tensorflow/serving/model_warmup_records_read', ['model_path', 'status']);
  readonly #mlmdMap = new TfStringGauge('/tensorflow/serving/mlmd_map', ['model_name', 'version']);
  readonly #requestLogCount = new TfCounter('/tensorflow/serving/request_log_count', ['model_name', 'status_code']);
  readonly #queuingLatency = new TfSampler('/tensorflow/serving/batching_session/queuing_latency', ['thread_pool_name'], QUEUING_US);
  readonly #wrappedRunCount = new TfCounter('/tensorflow/serving/batching_session/wrapped_run_count', []);
  readonly #paddingSize = new TfSampler('/tensorflow/serving/batching_session/padding_size', ['execution_batch_size'], BATCH_SIZES, true);
  readonly #inputBatchSize = new TfSampler('/tensorflow/serving/batching_session/input_batch_size', [], BATCH_SIZES, true);
  readonly #processedBatchSize = new TfSampler('/tensorflow/serving/batching_session/processed_batch_size', [], BATCH_SIZES, true);
  readonly #loadAttemptCount = new TfCounter('/tensorflow/cc/saved_model/load_attempt_count', ['model_path', 'status']);
  readonly #loadLatency = new TfCounter('/tensorflow/cc/saved_model/load_latency', ['model_path']);
  readonly #tfMetrics: ReadonlyArray<TfMetric<Cell>>;

  readonly #registry = new client.Registry();
  readonly #inFlight = new Map<string, number>();
  readonly #queued = new Map<string, number>();
  /** model -> version -> state */
  readonly #versions = new Map<string, Map<number, string>>();

  constructor(options: ServingMetricsOptions = {}) {
    this.#tfMetrics = [
      this.#requestCount, this.#requestLatency, this.#runtimeLatency, this.#exampleCounts, this.#exampleCountTotal,
      this.#warmupLatency, this.#warmupRecords, this.#mlmdMap, this.#requestLogCount, this.#queuingLatency,
      this.#wrappedRunCount, this.#paddingSize, this.#inputBatchSize, this.#processedBatchSize,
      this.#loadAttemptCount, this.#loadLatency,
    ].sort((x, y) => (x.tfName < y.tfName ? -1 : x.tfName > y.tfName ? 1 : 0));

    // The request path only updates the Maps; the gauges read them when scraped.
    const perModel = (name: string, help: string, counts: Map<string, number>) =>
      new client.Gauge({
        name, help, labelNames: ['model'], registers: [this.#registry],
        collect() {
          this.reset();
          for (const [model, n] of counts) this.set({ model }, n);
        },
      });
    perModel('tfserve_requests_in_flight', 'Requests being served, per model.', this.#inFlight);
    perModel('tfserve_requests_queued', 'Requests waiting in a batching queue, per model.', this.#queued);
    const versions = this.#versions;
    new client.Gauge({
      name: 'tfserve_model_version_state',
      help: 'State of each model version (1 for the state it is in).',
      labelNames: ['model', 'version', 'state'],
      registers: [this.#registry],
      collect() {
        this.reset();
        for (const [model, byVersion] of versions) {
          for (const [version, state] of byVersion) this.set({ model, version: String(version), state }, 1);
        }
      },
    });
    if (options.processMetrics ?? true) client.collectDefaultMetrics({ register: this.#registry, prefix: 'tfserve_' });
  }

  /**
   * A finished request (REST, or gRPC Predict/Classify/Regress): request_count{model_name, status}, and
   * for a success request_latency{model_name, API, entrypoint}. `api` is `predict`/`classify`/`regress`
   * or '' on REST, `Predict`/`Classify`/`Regress` on gRPC; `entrypoint` is `REST` or `GRPC`; `status`
   * is the canonical code name (`OK`, `NOT_FOUND`...).
   */
  requestDone(model: string, api: string, entrypoint: string, status: string, latencyUs: number): void {
    this.#requestCount.inc(1, model, status);
    if (status === 'OK') this.#requestLatency.observe(Math.round(latencyUs), model, api, entrypoint);
  }

  /** Time spent in the TensorFlow run of a Predict/Classify/Regress (`api` as gRPC names it). */
  runtime(model: string, api: string, latencyUs: number, runtime = 'TF1'): void {
    this.#runtimeLatency.observe(Math.round(latencyUs), model, api, runtime);
  }

  /** tf.Examples in a Classify/Regress/MultiInference request. */
  examples(model: string, count: number): void {
    this.#exampleCounts.observe(count, model);
    this.#exampleCountTotal.inc(count, model);
  }

  /** A warmup that ended: `status` is Status::ToString() (see `statusString`), `records` those replayed. */
  warmup(modelPath: string, status: string, latencyUs: number, records: number): void {
    this.#warmupLatency.observe(Math.round(latencyUs), modelPath, status);
    this.#warmupRecords.inc(records, modelPath, status);
  }

  /** A SavedModel load that ended (TF's loader counts failures' time in load_latency too). */
  loadAttempt(modelPath: string, ok: boolean, latencyUs: number): void {
    this.#loadAttemptCount.inc(1, modelPath, ok ? 'success' : 'fail');
    this.#loadLatency.inc(Math.round(latencyUs), modelPath);
  }

  /** A version's `assets.extra/mlmd_uuid`, published when it loads (TF Serving exports the cell as 0). */
  mlmd(model: string, version: number, uuid: string): void {
    this.#mlmdMap.set(uuid, model, String(version));
  }

  /** A request logged by the request logger, with the logging's status code name. */
  requestLogged(model: string, statusCode: string): void {
    this.#requestLogCount.inc(1, model, statusCode);
  }

  /** A request entering the batching layer: TF records its dim-0 size once per input tensor. */
  batchInput(size: number, inputTensors = 1): void {
    for (let i = 0; i < inputTensors; i++) this.#inputBatchSize.observe(size);
  }

  /** A task leaving its batching queue after `latencyUs`. */
  batchQueued(threadPoolName: string, latencyUs: number): void {
    this.#queuingLatency.observe(Math.round(latencyUs), threadPoolName);
  }

  /** A batch of `size` rows merged and padded to `paddedSize` (the allowed batch size it was rounded to). */
  batchMerged(size: number, paddedSize: number): void {
    this.#paddingSize.observe(paddedSize - size, String(paddedSize));
    this.#processedBatchSize.observe(paddedSize);
  }

  /** One run of the wrapped session for a batch. */
  batchRun(): void {
    this.#wrappedRunCount.inc(1);
  }

  /** Requests in flight for `model` change by `delta` (+1 on arrival, -1 when answered). */
  inFlight(model: string, delta: number): void {
    this.#inFlight.set(model, (this.#inFlight.get(model) ?? 0) + delta);
  }

  /** Requests waiting in `model`'s batching queues change by `delta`. */
  queued(model: string, delta: number): void {
    this.#queued.set(model, (this.#queued.get(model) ?? 0) + delta);
  }

  /** The state (TF's START, LOADING, AVAILABLE, UNLOADING, END) of a version; null forgets the version. */
  versionState(model: string, version: number, state: string | null): void {
    let byVersion = this.#versions.get(model);
    if (state === null) {
      byVersion?.delete(version);
      if (byVersion?.size === 0) this.#versions.delete(model);
      return;
    }
    if (byVersion === undefined) this.#versions.set(model, (byVersion = new Map()));
    byVersion.set(version, state);
  }

  /**
   * A counter's value as HandleReloadConfigRequest reads it (its first cell in TF's order; 0 before any
   * cell), by TF name; undefined for a name that is not one of these counters.
   */
  counterValue(tfName: string): number | undefined {
    const metric = this.#tfMetrics.find((m) => m.tfName === tfName);
    if (!(metric instanceof TfCounter)) return undefined;
    return metric.cells()[0]?.value ?? 0;
  }

  /** The Prometheus page: TF Serving's metrics, then tfserve's; ends with a line feed. */
  async exposition(): Promise<string> {
    const lines: string[] = [];
    for (const metric of this.#tfMetrics) {
      if (!metric.lazy || metric.cells().length > 0) metric.render(lines);
    }
    for (const metric of await this.#registry.getMetricsAsJSON()) {
      lines.push(`# TYPE ${metric.name} ${metric.type}`);
      for (const { labels, value, metricName: name } of metric.values as client.MetricValueWithName<string>[]) {
        const text = Object.entries(labels).map(([k, v]) => `${k}="${labelValue(String(v))}"`).join(',');
        lines.push(`${name ?? metric.name}${text ? `{${text}}` : ''} ${promValue(value)}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}

// The Prometheus text format's spelling of non-finite values.
function promValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
