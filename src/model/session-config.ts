/**
 * Session options as the serialized ConfigProto that TF_SetConfig takes, and per-run RunOptions.
 */
import { invalidArgument } from './errors.js';
import { configProtoFields, type ConfigProtoMessage } from '../proto/config-proto.js';
import { ConfigProto, RunOptions } from '../proto/messages.js';

/**
 * Where the ops of one run execute (RunOptions.inter_op_thread_pool).
 * - 'caller': on the tfserve thread that calls TF_SessionRun (inter_op_thread_pool = -1). No
 *   hand-off to TensorFlow's inter-op threads and back, which costs two thread wake-ups per call:
 *   about 100 µs of a small model's latency on a VM. Each op still uses the intra-op threads, so a
 *   big convolution is as parallel as before; only independent branches of a graph run one after
 *   the other.
 * - 'pool': TensorFlow's inter-op thread pool, so independent branches run in parallel. Choose it
 *   for wide graphs (many parallel towers) on machines with cores to spare.
 * TensorFlow enforces timeout_in_ms only on its pool, so in 'caller' mode tfserve keeps a run's
 * deadline itself (SavedModel's #runWithDeadline) until a run of the model overruns one.
 */
export type InterOpExecution = 'caller' | 'pool';
export const DEFAULT_INTER_OP_EXECUTION: InterOpExecution = 'caller';

export interface GpuConfig {
  /** Start small and grow GPU memory on demand instead of taking it all (GPUOptions.allow_growth). */
  allowGrowth?: boolean;
  /** Fraction of each GPU's memory to take, in (0, 1] (per_process_gpu_memory_fraction; process-wide). */
  memoryFraction?: number;
  /** Which GPUs TensorFlow sees, e.g. "0,1" (visible_device_list). */
  visibleDevices?: string;
}

export interface SessionConfig {
  /** Threads one op may use; 0 lets TensorFlow choose. */
  intraOpThreads?: number;
  /** Ops run in parallel; 0 lets TensorFlow choose. The first session of the process sets this for all. */
  interOpThreads?: number;
  /** Run ops pinned to a missing device (say /gpu:0 on a CPU host) where they can run. Default true. */
  allowSoftPlacement?: boolean;
  gpu?: GpuConfig;
  /**
   * The most devices of each type the session may use (ConfigProto.device_count): `{ GPU: 0 }` keeps
   * this model on the CPU on a GPU machine, while other models in the process use the GPU.
   */
  deviceCount?: Readonly<Record<string, number>>;
  /**
   * A whole tensorflow.ConfigProto, as `parseConfigProto(text)` returns it (proto field names): the
   * session config TensorFlow gets, as a --tensorflow_session_config_file is for TF Serving. Each field
   * above that is given replaces the one ConfigProto field it stands for (gpu's, the GPUOptions field);
   * tfserve's own default of allowSoftPlacement: true does not apply, the ConfigProto's value does.
   */
  configProto?: ConfigProtoMessage;
  /**
   * Where each run's ops execute; default 'caller' (see InterOpExecution), with a configProto too. Not
   * part of the ConfigProto: 'caller' runs bypass the inter-op pools a configProto configures
   * (inter_op_parallelism_threads, use_per_session_threads, session_inter_op_thread_pool), which
   * 'pool' runs use (RunOptions.inter_op_thread_pool 0: the first session_inter_op_thread_pool).
   */
  interOpExecution?: InterOpExecution;
}

function threadCount(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 4096) {
    throw invalidArgument(`Expected integer between 0 and 4096 for config.${field} but received ${String(value)} of type ${typeof value}`);
  }
  return value;
}

export function encodeSessionConfig(config: SessionConfig = {}): Uint8Array {
  if (typeof config !== 'object' || config === null) {
    throw invalidArgument(`Expected object for config but received ${String(config)} of type ${typeof config}`);
  }
  const gpu = config.gpu ?? {};
  if (typeof gpu !== 'object' || gpu === null) throw invalidArgument('Expected object for config.gpu');
  if (gpu.memoryFraction !== undefined && !(typeof gpu.memoryFraction === 'number' && gpu.memoryFraction > 0 && gpu.memoryFraction <= 1)) {
    throw invalidArgument(`Expected number in (0, 1] for config.gpu.memoryFraction but received ${String(gpu.memoryFraction)}`);
  }
  if (gpu.allowGrowth !== undefined && typeof gpu.allowGrowth !== 'boolean') {
    throw invalidArgument(`Expected boolean for config.gpu.allowGrowth but received ${String(gpu.allowGrowth)}`);
  }
  if (gpu.visibleDevices !== undefined && !(typeof gpu.visibleDevices === 'string' && /^\d+(,\d+)*$|^$/.test(gpu.visibleDevices))) {
    throw invalidArgument(`Expected comma-separated GPU ids for config.gpu.visibleDevices but received ${String(gpu.visibleDevices)}`);
  }
  interOpExecution(config);
  if (config.allowSoftPlacement !== undefined && typeof config.allowSoftPlacement !== 'boolean') {
    throw invalidArgument(`Expected boolean for config.allowSoftPlacement but received ${String(config.allowSoftPlacement)}`);
  }
  const deviceCount = config.deviceCount;
  if (deviceCount !== undefined) {
    if (typeof deviceCount !== 'object' || deviceCount === null || Array.isArray(deviceCount)) {
      throw invalidArgument('Expected object of { [deviceType]: count } for config.deviceCount');
    }
    for (const [type, count] of Object.entries(deviceCount)) {
      if (!/^[A-Z][A-Z0-9_]*$/.test(type) || !Number.isInteger(count) || count < 0 || count > 1024) {
        throw invalidArgument(`Expected a device type such as GPU and an integer between 0 and 1024 in config.deviceCount but received ${type}: ${String(count)}`);
      }
    }
  }
  const fields = config.configProto === undefined ? {} : configProtoFields(config.configProto, 'config.configProto');
  if (deviceCount !== undefined) fields['device_count'] = { ...deviceCount };
  const intra = threadCount(config.intraOpThreads, 'intraOpThreads');
  if (intra !== undefined) fields['intra_op_parallelism_threads'] = intra;
  const inter = threadCount(config.interOpThreads, 'interOpThreads');
  if (inter !== undefined) fields['inter_op_parallelism_threads'] = inter;
  if (config.allowSoftPlacement !== undefined || config.configProto === undefined) {
    fields['allow_soft_placement'] = config.allowSoftPlacement ?? true;
  }
  if (gpu.allowGrowth !== undefined || gpu.memoryFraction !== undefined || gpu.visibleDevices !== undefined) {
    const gpuOptions = (fields['gpu_options'] ?? {}) as Record<string, unknown>;
    if (gpu.allowGrowth !== undefined) gpuOptions['allow_growth'] = gpu.allowGrowth;
    if (gpu.memoryFraction !== undefined) gpuOptions['per_process_gpu_memory_fraction'] = gpu.memoryFraction;
    if (gpu.visibleDevices !== undefined) gpuOptions['visible_device_list'] = gpu.visibleDevices;
    fields['gpu_options'] = gpuOptions;
  }
  return ConfigProto.encode(fields).finish();
}

/** The validated run policy of a config (which encodeSessionConfig has accepted). */
export function interOpExecution(config: SessionConfig = {}): InterOpExecution {
  const value = config.interOpExecution ?? DEFAULT_INTER_OP_EXECUTION;
  if (value !== 'caller' && value !== 'pool') {
    throw invalidArgument(`Expected 'caller' or 'pool' for config.interOpExecution but received ${String(value)} of type ${typeof value}`);
  }
  return value;
}

const SOFTWARE_TRACE = 1;

/**
 * A serialized RunOptions, or undefined when every field has its default. A timeout implies the
 * inter-op pool, where TensorFlow enforces it. `trace` asks for step stats (the device of each node).
 */
export function encodeRunOptions(timeoutMs: number | undefined, execution: InterOpExecution = 'pool', trace = false): Uint8Array | undefined {
  const traceLevel = trace ? SOFTWARE_TRACE : undefined;
  if (timeoutMs === undefined) {
    // inter_op_thread_pool = -1: run the ops on the calling thread.
    const interOpThreadPool = execution === 'caller' ? -1 : undefined;
    if (interOpThreadPool === undefined && traceLevel === undefined) return undefined;
    return RunOptions.encode(RunOptions.create({ interOpThreadPool, traceLevel })).finish();
  }
  if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw invalidArgument(`Expected positive integer for timeoutMs but received ${String(timeoutMs)}`);
  }
  return RunOptions.encode(RunOptions.create({ timeoutInMs: timeoutMs, traceLevel })).finish();
}
