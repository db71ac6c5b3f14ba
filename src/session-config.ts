/**
 * Session options as the serialized ConfigProto that TF_SetConfig takes, and per-run RunOptions.
 */
import { invalidArgument } from './errors.js';
import { ConfigProto, RunOptions } from './proto/messages.js';

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
  if (config.allowSoftPlacement !== undefined && typeof config.allowSoftPlacement !== 'boolean') {
    throw invalidArgument(`Expected boolean for config.allowSoftPlacement but received ${String(config.allowSoftPlacement)}`);
  }
  const message = ConfigProto.create({
    intraOpParallelismThreads: threadCount(config.intraOpThreads, 'intraOpThreads'),
    interOpParallelismThreads: threadCount(config.interOpThreads, 'interOpThreads'),
    allowSoftPlacement: config.allowSoftPlacement ?? true,
    gpuOptions:
      gpu.allowGrowth === undefined && gpu.memoryFraction === undefined && gpu.visibleDevices === undefined
        ? undefined
        : {
            allowGrowth: gpu.allowGrowth,
            perProcessGpuMemoryFraction: gpu.memoryFraction,
            visibleDeviceList: gpu.visibleDevices,
          },
  });
  return ConfigProto.encode(message).finish();
}

export function encodeRunOptions(timeoutMs: number | undefined): Uint8Array | undefined {
  if (timeoutMs === undefined) return undefined;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw invalidArgument(`Expected positive integer for timeoutMs but received ${String(timeoutMs)}`);
  }
  return RunOptions.encode(RunOptions.create({ timeoutInMs: timeoutMs })).finish();
}
