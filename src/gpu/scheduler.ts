/**
 * The scheduler owns `queue.submit`. Kernels only encode: `dispatch` appends to one compute pass
 * (each dispatch is its own synchronisation scope in WebGPU, so the passes of a whole iteration,
 * or of many, share one command buffer), `copy` and `clear` close the pass when needed, `submit`
 * sends everything at once. It also keeps the queue shallow: at most `maxInFlight` submits are
 * outstanding, so the CPU never runs far ahead of the GPU when no read-back paces the loop.
 */
import type { CompiledKernel } from './kernels.js';
import { MAP_READ, type DeviceGuard } from './device.js';

export class Scheduler {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly inFlight: Promise<undefined>[] = [];
  /** Statistics: dispatches encoded, submits, read-backs (maps) requested. */
  readonly stats = { dispatches: 0, submits: 0, readbacks: 0 };

  /** `guard`: waits then end with the device error when the device is lost (optional). */
  constructor(
    private readonly device: GPUDevice,
    private readonly guard?: DeviceGuard,
    private readonly maxInFlight = 2,
  ) {}

  private wait<T>(p: Promise<T>): Promise<T> {
    return this.guard ? this.guard.guarded(p) : p;
  }

  private enc(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'webnmf iteration' });
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  dispatch(kernel: CompiledKernel, bindGroup: GPUBindGroup, x: number, y = 1, z = 1): void {
    if (x === 0 || y === 0 || z === 0) return;
    if (!this.pass) this.pass = this.enc().beginComputePass({ label: 'webnmf compute' });
    this.pass.setPipeline(kernel.pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (size === 0) return;
    this.endPass();
    this.enc().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  clear(buf: GPUBuffer, offset = 0, size?: number): void {
    this.endPass();
    this.enc().clearBuffer(buf, offset, size);
  }

  /** True when something is encoded and not yet submitted. */
  get pending(): boolean {
    return this.encoder !== null;
  }

  /** Submits what was encoded; waits first if too many submits are outstanding. */
  async submit(): Promise<void> {
    if (!this.encoder) return;
    this.endPass();
    const cb = this.encoder.finish();
    this.encoder = null;
    while (this.inFlight.length >= this.maxInFlight) await this.wait(this.inFlight.shift()!);
    this.device.queue.submit([cb]);
    this.stats.submits++;
    const done = this.device.queue.onSubmittedWorkDone() as Promise<undefined>;
    done.catch(() => undefined); // a lost device rejects it; the guard reports the loss
    this.inFlight.push(done);
  }

  /** Submits and waits until the GPU finished everything. */
  async flush(): Promise<void> {
    await this.submit();
    await this.wait(this.device.queue.onSubmittedWorkDone());
    this.inFlight.length = 0;
  }

  /** Maps a staging buffer (after the submit that filled it) and returns a copy of its bytes. */
  async read(staging: GPUBuffer, size: number): Promise<ArrayBuffer> {
    this.stats.readbacks++;
    await this.wait(staging.mapAsync(MAP_READ, 0, size));
    const bytes = staging.getMappedRange(0, size).slice(0);
    staging.unmap();
    return bytes;
  }
}

/**
 * A ring of staging buffers for the sampled loss: a slot is filled by copies encoded after the
 * loss kernel, mapped asynchronously after its submit, and consumed later; the loop only waits
 * when every slot is still in flight.
 */
export interface RingSlot<T> {
  readonly staging: GPUBuffer;
  /** Extra per-slot data (GPU copies of the iterate at the sample). */
  readonly extra: T;
  iteration: number;
  mapped: Promise<void> | null;
  ready: boolean;
}

export class ReadbackRing<T> {
  private readonly slots: RingSlot<T>[];
  private readonly queue: RingSlot<T>[] = [];

  constructor(staging: GPUBuffer[], extras: T[], private readonly guard: DeviceGuard) {
    this.slots = staging.map((s, i) => ({ staging: s, extra: extras[i], iteration: -1, mapped: null, ready: false }));
  }

  /** A free slot, or null when all are in flight (consume the oldest first). */
  acquire(): RingSlot<T> | null {
    const slot = this.slots.find((s) => !this.queue.includes(s));
    return slot ?? null;
  }

  /** Call after the submit that filled the slot. */
  launch(slot: RingSlot<T>, iteration: number, size: number): void {
    slot.iteration = iteration;
    slot.ready = false;
    const mapped = slot.staging.mapAsync(MAP_READ, 0, size).then(() => {
      slot.ready = true;
    });
    mapped.catch(() => undefined); // awaited (and rethrown) by oldest(); never an unhandled rejection
    slot.mapped = mapped;
    this.queue.push(slot);
  }

  get inFlight(): number {
    return this.queue.length;
  }

  /** The oldest launched slot, if its map finished (or `wait`: once it finishes). */
  async oldest(wait: boolean): Promise<RingSlot<T> | null> {
    const slot = this.queue[0];
    if (!slot) return null;
    if (!slot.ready) {
      if (!wait) return null;
      await this.guard.guarded(slot.mapped!);
    }
    return slot;
  }

  /** Consumes the oldest slot: its bytes, then unmaps and frees it. */
  consume(slot: RingSlot<T>, size: number): ArrayBuffer {
    const bytes = slot.staging.getMappedRange(0, size).slice(0);
    slot.staging.unmap();
    slot.mapped = null;
    slot.ready = false;
    this.queue.shift();
    return bytes;
  }

  /** Waits for every in-flight map (used before disposing the buffers). */
  async drain(): Promise<void> {
    for (const s of this.queue) {
      try {
        await this.guard.guarded(s.mapped!);
      } catch {
        /* the device is gone or the map was aborted */
      }
      if (s.staging.mapState !== 'unmapped') s.staging.unmap();
      s.mapped = null;
      s.ready = false;
    }
    this.queue.length = 0;
  }
}
