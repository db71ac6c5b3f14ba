/**
 * Where a model runs: the devices its session has, the devices its ops were placed on, and whether
 * this process's libtensorflow can use a GPU at all.
 *
 * TensorFlow places a graph's ops when a session first runs it, so placement is known only after a
 * run: SavedModel traces its first run (RunOptions.trace_level = SOFTWARE_TRACE, whose step stats
 * name the device of every node) and keeps the node count per device.
 */
import fs from 'node:fs';

import { KernelList, RunMetadata } from '../proto/messages.js';
import { binding } from './native.js';

export interface DeviceInfo {
  /** TensorFlow's full device name, e.g. "/job:localhost/replica:0/task:0/device:GPU:0". */
  readonly name: string;
  /** "CPU", "GPU", … */
  readonly type: string;
  /** The memory TensorFlow reports for it: on a GPU what it may allocate; for the CPU a nominal figure. */
  readonly memoryBytes: number;
}

/** Nodes per device name, from one traced run. */
export type Placement = Readonly<Record<string, number>>;

export interface TensorFlowBuild {
  readonly version: string;
  /** Whether this libtensorflow was compiled with CUDA (it registers GPU kernels). */
  readonly cuda: boolean;
}

let build: TensorFlowBuild | undefined;

/** What the libtensorflow this process loaded is: its version and whether it is a CUDA build. */
export function tensorflowBuild(): TensorFlowBuild {
  if (build) return build;
  const native = binding();
  const kernels = KernelList.decode(native.registeredKernels('MatMul')) as unknown as { kernel: { deviceType: string }[] };
  build = Object.freeze({ version: native.tensorflowVersion, cuda: kernels.kernel.some((k) => k.deviceType === 'GPU') });
  return build;
}

export function devicesFromNative(devices: readonly [string, string, number][] | undefined): readonly DeviceInfo[] {
  return Object.freeze((devices ?? []).map(([name, type, memoryBytes]) => Object.freeze({ name, type, memoryBytes })));
}

/** Node counts per device in a serialized RunMetadata; devices sorted by name. */
export function placementFromRunMetadata(bytes: Uint8Array): Placement {
  const metadata = RunMetadata.decode(bytes) as unknown as { stepStats?: { devStats: { device: string; nodeStats: unknown[] }[] } };
  const counts: Record<string, number> = {};
  for (const stats of metadata.stepStats?.devStats ?? []) {
    if (stats.nodeStats.length === 0) continue;
    counts[stats.device] = (counts[stats.device] ?? 0) + stats.nodeStats.length;
  }
  return Object.freeze(Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** "/job:localhost/replica:0/task:0/device:GPU:0" → "GPU:0". */
export function shortDeviceName(name: string): string {
  const match = /device:([^/]+)$/.exec(name);
  return match ? match[1]! : name;
}

/** Whether the kernel of this machine has an NVIDIA driver loaded. */
export function nvidiaDriverVersion(): string | null {
  try {
    const text = fs.readFileSync('/proc/driver/nvidia/version', 'utf8');
    return /Kernel Module\s+([\d.]+)/.exec(text)?.[1] ?? text.split('\n')[0]!.trim();
  } catch {
    return null;
  }
}

/**
 * One sentence on how the models will use GPUs, or null when there is nothing to warn about: a CUDA
 * build that found no GPU says why, a CPU build on a machine with an NVIDIA driver says how to get
 * the GPU build.
 */
export function gpuNotice(devices: readonly DeviceInfo[]): string | null {
  const { cuda } = tensorflowBuild();
  const gpus = devices.filter((d) => d.type === 'GPU');
  const driver = nvidiaDriverVersion();
  if (cuda && gpus.length === 0) {
    const why = driver === null
      ? 'no NVIDIA driver is loaded (/proc/driver/nvidia/version is absent)'
      : `NVIDIA driver ${driver} is loaded, but CUDA could not use a GPU (see TensorFlow's messages above; CUDA_VISIBLE_DEVICES and config.gpu.visibleDevices limit what it sees)`;
    return `No GPU found: libtensorflow is the CUDA build, but ${why}; models run on the CPU`;
  }
  if (!cuda && driver !== null) {
    return `NVIDIA driver ${driver} is loaded, but this libtensorflow is the CPU build; TFSERVE_GPU=1 npm install fetches the GPU build`;
  }
  return null;
}
