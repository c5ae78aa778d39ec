/**
 * Acquiring a WebGPU device (Node: Dawn through the optional `webgpu` package, loaded lazily so a
 * browser bundle never needs it; browsers: navigator.gpu), and the ONE place where device loss and
 * uncaptured errors are handled.
 */
import { WebnmfError } from '../errors.js';

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

const NO_ADAPTER_NODE =
  'no WebGPU adapter: install a Vulkan driver: Debian `mesa-vulkan-drivers` from bookworm-backports ' +
  '(Mesa ≥ 23; stock Debian 12 Mesa 22.3 is rejected by Dawn), or a GPU vendor driver; point ' +
  'VK_ICD_FILENAMES at its ICD json if needed (e.g. /usr/share/vulkan/icd.d/lvp_icd.json); ' +
  "or use backend 'cpu'";
const NO_ADAPTER_BROWSER =
  "no WebGPU adapter: use a browser with WebGPU enabled (Chrome/Edge ≥ 113, Firefox ≥ 141, Safari ≥ 26; " +
  "Chromium on Linux may need --enable-unsafe-webgpu) from a secure context (https or localhost), or use backend 'cpu'";


/** The GPU entry point, or null with the reason recorded. */
async function loadGpu(): Promise<{ gpu: GPU | null; reason?: string }> {
  if (typeof navigator !== 'undefined' && (navigator as Navigator & { gpu?: GPU }).gpu && !isNode) {
    return { gpu: (navigator as Navigator & { gpu: GPU }).gpu };
  }
  if (!isNode) return { gpu: null, reason: 'navigator.gpu is undefined (' + NO_ADAPTER_BROWSER + ')' };
  try {
    const name = 'webgpu';
    const mod = (await import(/* @vite-ignore */ name)) as {
      create: (flags: string[]) => GPU;
      globals: Record<string, unknown>;
    };
    for (const [key, value] of Object.entries(mod.globals)) {
      if (!(key in globalThis)) (globalThis as Record<string, unknown>)[key] = value;
    }
    return { gpu: mod.create([]) };
  } catch (e) {
    return {
      gpu: null,
      reason: `the optional package 'webgpu' (Dawn for Node) could not be loaded (${(e as Error).message}); reinstall webnmf with optional dependencies, or use backend 'cpu'`,
    };
  }
}

let gpuEntry: Promise<{ gpu: GPU | null; reason?: string }> | undefined;
function gpuOnce() {
  gpuEntry ??= loadGpu();
  return gpuEntry;
}

export function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info as GPUAdapterInfo | undefined;
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s && s.length > 0);
  const fallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter || info?.isFallbackAdapter;
  return (parts.length > 0 ? parts.join(' ') : 'unknown adapter') + (fallback ? ' (fallback adapter)' : '');
}

function isSoftware(text: string, fallback: boolean | undefined): boolean {
  return !!fallback || /llvmpipe|lavapipe|swiftshader|warp|software|cpu/i.test(text);
}

async function requestAdapter(): Promise<{ adapter: GPUAdapter | null; reason?: string }> {
  const { gpu, reason } = await gpuOnce();
  if (!gpu) return { adapter: null, reason };
  let adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  // Software adapters (lavapipe, SwiftShader) report themselves as fallback adapters: accepted.
  adapter ??= await gpu.requestAdapter({ forceFallbackAdapter: true });
  if (!adapter) return { adapter: null, reason: isNode ? NO_ADAPTER_NODE : NO_ADAPTER_BROWSER };
  return { adapter };
}

/** Whether a WebGPU adapter exists here, without creating a device. */
export async function webgpuAvailable(): Promise<{ ok: boolean; adapterInfo?: string; reason?: string }> {
  try {
    const { adapter, reason } = await requestAdapter();
    if (!adapter) return { ok: false, reason };
    return { ok: true, adapterInfo: describeAdapter(adapter) };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/** A device plus everything the engine needs to know about it. */
export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapterInfo: string;
  readonly limits: GPUSupportedLimits;
  /** True when webnmf created the device (and so destroys it on dispose). */
  readonly ownsDevice: boolean;
  /** A software rasteriser (lavapipe, SwiftShader, WARP): kernels are tuned differently there. */
  readonly software: boolean;
  /**
   * Node (Dawn): promises are resolved by polling on the main thread while any is pending, so the
   * scheduler requests them only when it must wait, after sleeping (see src/gpu/scheduler.ts).
   */
  readonly sleepyWaits: boolean;
  readonly guard: DeviceGuard;
}

export async function acquireDevice(given?: GPUDevice): Promise<GpuContext> {
  if (given) {
    const info = (given as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const text = info ? [info.vendor, info.architecture, info.device, info.description].join(' ') : 'caller-provided device';
    return { device: given, adapterInfo: text, limits: given.limits, ownsDevice: false, software: isSoftware(text, info?.isFallbackAdapter), sleepyWaits: isNode, guard: new DeviceGuard(given) };
  }
  const { adapter, reason } = await requestAdapter();
  if (!adapter) throw new WebnmfError('device', reason ?? NO_ADAPTER_NODE);
  const l = adapter.limits;
  const wanted = ['timestamp-query', 'shader-f16', 'subgroups'] as GPUFeatureName[];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: 'webnmf',
      requiredFeatures: wanted.filter((f) => adapter.features.has(f)),
      requiredLimits: {
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
        maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      },
    });
  } catch (e) {
    throw new WebnmfError('device', `requestDevice failed on ${describeAdapter(adapter)}: ${(e as Error).message}`);
  }
  const text = describeAdapter(adapter);
  return { device, adapterInfo: text, limits: device.limits, ownsDevice: true, software: isSoftware(text, false), sleepyWaits: isNode, guard: new DeviceGuard(device) };
}

/**
 * The one place where device loss and uncaptured errors land. The fit loop calls `check()`
 * after every await; the first problem recorded ends the fit with a WebnmfError('device') whose
 * details carry the last good W and H that the loop handed to `setLastGood`.
 */
export class DeviceGuard {
  private problem: string | undefined;
  private lastGood: Record<string, unknown> | undefined;
  private lostPromise: Promise<void>;
  lost = false;

  constructor(device: GPUDevice) {
    device.lost.then((info) => {
      this.lost = true;
      this.record(info.reason === 'destroyed' ? 'the device was destroyed' : `device lost (${info.reason}): ${info.message}`);
    });
    this.lostPromise = device.lost.then(() => undefined);
    device.addEventListener('uncapturederror', (ev) => {
      this.record(`uncaptured ${(ev as GPUUncapturedErrorEvent).error.constructor.name}: ${(ev as GPUUncapturedErrorEvent).error.message}`);
    });
  }

  private record(msg: string): void {
    this.problem ??= msg;
  }

  /** Remember the latest iterate known on the CPU (details of a later device error). */
  setLastGood(details: Record<string, unknown>): void {
    this.lastGood = details;
  }

  /** A new fit starts: forget the previous fit's iterate (but not a lost device). */
  reset(): void {
    this.lastGood = undefined;
    if (!this.lost) this.problem = undefined;
  }

  /**
   * Turns a failure seen by the fit loop into the device error when the device is the cause
   * (a lost device makes maps and waits reject with unhelpful errors first): waits briefly for
   * the loss to be reported, then throws the device error, or returns and lets the caller rethrow.
   */
  /** `p`, or the device error as soon as the device is lost (Dawn leaves some waits pending forever then). */
  guarded<T>(p: Promise<T>): Promise<T> {
    return Promise.race([
      p,
      this.lostPromise.then((): T => {
        this.check();
        throw new WebnmfError('device', 'WebGPU device lost');
      }),
    ]);
  }

  async explain(): Promise<void> {
    if (this.problem === undefined) {
      await Promise.race([this.lostPromise, new Promise((r) => setTimeout(r, 100))]);
    }
    this.check();
  }

  check(): void {
    if (this.problem !== undefined) {
      throw new WebnmfError('device', `WebGPU error during the fit: ${this.problem}`, { ...this.lastGood });
    }
  }
}

/**
 * Creates a buffer inside an out-of-memory error scope; fails with the size and the limits.
 */
export async function createLargeBuffer(device: GPUDevice, desc: GPUBufferDescriptor): Promise<GPUBuffer> {
  const limit = device.limits.maxBufferSize;
  if (desc.size > limit) {
    throw new WebnmfError('device', `buffer ${desc.label ?? ''} needs ${desc.size} bytes, above this device's maxBufferSize ${limit}`);
  }
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  const buf = device.createBuffer(desc);
  const val = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (oom || val) {
    buf.destroy();
    throw new WebnmfError(
      'device',
      `allocating buffer ${desc.label ?? ''} of ${desc.size} bytes failed (${(oom ?? val)!.message}); maxBufferSize ${limit}, maxStorageBufferBindingSize ${device.limits.maxStorageBufferBindingSize}`,
    );
  }
  return buf;
}

/**
 * WebGPU's numeric flag constants (fixed by the spec). Used instead of the GPUBufferUsage /
 * GPUMapMode / GPUShaderStage globals, which Node only has after the `webgpu` module is loaded.
 */
export const BufferUsage = { MAP_READ: 1, MAP_WRITE: 2, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128, QUERY_RESOLVE: 512 } as const;
export const MAP_READ = 1;
export const STAGE_COMPUTE = 4;
