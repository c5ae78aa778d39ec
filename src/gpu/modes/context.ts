/**
 * The WebGPU context of the analysis modes: a device (acquired, or the caller's), the engine's
 * kernel cache (one per device, shared by every mode call), a buffer pool and a scheduler, all
 * released when the call ends. Device loss and uncaught errors surface through the engine's
 * DeviceGuard as WebnmfError('device').
 */
import { acquireDevice, BufferUsage, MAP_READ, type GpuContext } from '../device.js';
import { KernelCache } from '../kernels.js';
import { BufferPool } from '../pool.js';
import { Scheduler } from '../scheduler.js';

export interface ModeGpu {
  readonly ctx: GpuContext;
  readonly cache: KernelCache;
  readonly pool: BufferPool;
  readonly sched: Scheduler;
  /** A storage buffer holding `data` (float32 or uint32). */
  upload(data: Float32Array | Uint32Array, label: string, extraUsage?: number): Promise<GPUBuffer>;
  /**
   * A storage buffer of `bytes` (zero-filled: the pool is per call, so every buffer is new and
   * WebGPU zero-initialises new buffers; nothing is encoded, so later writeBuffer calls are not
   * overtaken by a pending clear).
   */
  storage(bytes: number, label: string, extraUsage?: number): Promise<GPUBuffer>;
  /** A uniform buffer with these bytes. */
  uniform(bytes: ArrayBuffer, label: string): Promise<GPUBuffer>;
  /** Copies `bytes` of `src` into a staging buffer, submits, and returns them as float32. */
  readF32(src: GPUBuffer, bytes: number): Promise<Float32Array>;
}

const caches = new WeakMap<GPUDevice, KernelCache>();
const U = BufferUsage;

export async function withModeGpu<T>(device: GPUDevice | undefined, fn: (g: ModeGpu) => Promise<T>): Promise<T> {
  const ctx = await acquireDevice(device);
  let cache = caches.get(ctx.device);
  if (!cache) caches.set(ctx.device, (cache = new KernelCache(ctx.device)));
  const pool = new BufferPool(ctx.device);
  const sched = new Scheduler(ctx.device, undefined, 2, ctx.sleepyWaits);
  const q = ctx.device.queue;
  const g: ModeGpu = {
    ctx,
    cache,
    pool,
    sched,
    async upload(data, label, extraUsage = 0) {
      const buf = await pool.acquire(data.byteLength, U.STORAGE | U.COPY_DST | U.COPY_SRC | extraUsage, label);
      q.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
      return buf;
    },
    async storage(bytes, label, extraUsage = 0) {
      return pool.acquire(bytes, U.STORAGE | U.COPY_DST | U.COPY_SRC | extraUsage, label);
    },
    async uniform(bytes, label) {
      const buf = await pool.acquire(bytes.byteLength, U.UNIFORM | U.COPY_DST, label);
      q.writeBuffer(buf, 0, bytes);
      return buf;
    },
    async readF32(src, bytes) {
      const staging = await pool.acquire(bytes, U.MAP_READ | U.COPY_DST, 'modes staging');
      sched.copy(src, 0, staging, 0, bytes);
      await sched.submit();
      const out = new Float32Array(await sched.read(staging, Math.ceil(bytes / 4) * 4));
      pool.release(staging);
      return out;
    },
  };
  try {
    const r = await fn(g);
    await sched.flush();
    ctx.guard.check();
    return r;
  } catch (e) {
    ctx.guard.check();
    throw e;
  } finally {
    pool.dispose();
    if (ctx.ownsDevice) ctx.device.destroy();
  }
}

export { MAP_READ };
