/**
 * The scheduler owns `queue.submit`. Kernels only encode: `dispatch` appends to one compute pass
 * (each dispatch is its own synchronisation scope in WebGPU, so the passes of a whole iteration,
 * or of many, share one command buffer), `copy` and `clear` close the pass when needed, `submit`
 * sends everything at once. It also keeps the queue shallow: at most `maxInFlight` submits are
 * outstanding, so the CPU never runs far ahead of the GPU when no read-back paces the loop.
 *
 * Waiting without spinning (`sleepyWaits`, Node): Dawn for Node resolves its promises by calling
 * `ProcessEvents` from `setImmediate` over and over while any promise (a map, onSubmittedWorkDone)
 * is pending, so an eagerly requested promise keeps one CPU core busy for as long as the GPU works.
 * On a software adapter that core is taken from the rasteriser's threads (on 2 cores: a third of
 * the compute). So in Node the scheduler asks for completion only when it must wait, and first
 * sleeps through most of the GPU time it expects (learned from the previous waits). Browsers
 * resolve promises from their own event loop, so there the promises are requested eagerly.
 */
import type { CompiledKernel } from './kernels.js';
import { BufferUsage, MAP_READ, type DeviceGuard } from './device.js';

/**
 * What the sleepy waits learned, kept per backend from one fit to the next: the GPU time per
 * pass over X for each kind of fit (`key`: the shapes and kernels that set what a dispatch costs).
 * Without it every fit started from no model, and its first waits asked for completion at once
 * and polled through the whole GPU time: on lavapipe (2 cores) that took a core from the
 * rasteriser for the first 20–30 iterations of every fit, so a 10-iteration fit at 192 × 192 × 80
 * ran at 34 ms per iteration against 19 with a model (bench/results/2026-11-27-host-costs.md,
 * Update 8). Short fits (the binned fit, the fine-tune, the tuning batches) are all early
 * iterations. A key not seen yet starts from the known key nearest in work, scaled by the work
 * ratio and halved: a nap too short only polls for the rest; one too long leaves the GPU idle.
 */
export class WaitModel {
  private readonly known = new Map<string, { work: number; msPerUnit: number }>();

  /** Keys kept at most (the oldest is forgotten). */
  static readonly MAX_KEYS = 64;

  /** The starting ms per unit (a pass over X) for a fit of this key and work (elements of X per pass); 0 if nothing is known. */
  prior(key: string, work: number): number {
    const hit = this.known.get(key);
    if (hit) return hit.msPerUnit;
    let near: { work: number; msPerUnit: number } | undefined;
    for (const e of this.known.values()) if (!near || Math.abs(Math.log(e.work / work)) < Math.abs(Math.log(near.work / work))) near = e;
    return near ? 0.5 * near.msPerUnit * (work / near.work) : 0;
  }

  /**
   * Records what a finished fit learned. Ignored when it learned nothing, and when its waits all
   * polled (`undisturbed` false: they read too long on a software adapter) and the key is known.
   */
  learn(key: string, work: number, learned: { msPerUnit: number; undisturbed: boolean }): void {
    const { msPerUnit, undisturbed } = learned;
    if (!(msPerUnit > 0 && Number.isFinite(msPerUnit) && work > 0)) return;
    if (!undisturbed && this.known.has(key)) return;
    this.known.delete(key);
    this.known.set(key, { work, msPerUnit });
    if (this.known.size > WaitModel.MAX_KEYS) this.known.delete(this.known.keys().next().value as string);
  }
}

export class Scheduler {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly inFlight: Promise<undefined>[] = [];
  /** Statistics: dispatches encoded, submits, read-backs (maps) requested. */
  readonly stats = { dispatches: 0, submits: 0, readbacks: 0 };
  /** Per-kernel GPU time from timestamp queries, when profiling is on: kernel → { dispatches, ms }. */
  readonly kernelTimes = new Map<string, { dispatches: number; ms: number }>();
  private profiler: KernelProfiler | null = null;
  /**
   * Sleepy waits: submits so far and the last one known complete; units submitted and known
   * complete (dispatches weighted by `KernelDecl.waitWeight`: passes over X).
   */
  private seq = 0;
  private completedSeq = 0;
  private unitsSubmitted = 0;
  private unitsCompleted = 0;
  private unitsEncoded = 0;
  private firstPendingAt = 0;
  private lastDoneAt = 0;
  /** The model: GPU ms per unit (a pass over X: `KernelDecl.waitWeight`), and its last value from a wait that did not mostly poll. */
  private msPerUnit: number;
  private undisturbed = 0;
  /** Whether `settle` has waited for dispatches yet (the first such wait learns nothing). */
  private waited = false;

  /**
   * `guard`: waits then end with the device error when the device is lost (optional).
   * `sleepyWaits`: request completion promises only when waiting, after sleeping (see above).
   * `msPerUnit`: the GPU time per unit to start from (`WaitModel.prior`; 0: none known).
   */
  constructor(
    private readonly device: GPUDevice,
    private readonly guard?: DeviceGuard,
    private readonly maxInFlight = 2,
    readonly sleepyWaits = false,
    msPerUnit = 0,
  ) {
    this.msPerUnit = msPerUnit;
  }

  /** The GPU time per unit as learned so far (for `WaitModel.learn`): from undisturbed waits where there were any. */
  get learned(): { msPerUnit: number; undisturbed: boolean } {
    return { msPerUnit: this.undisturbed || this.msPerUnit, undisturbed: this.undisturbed > 0 };
  }

  /** The number of the latest submit (for `isComplete`). */
  get submitted(): number {
    return this.seq;
  }

  /** True when the work of submit number `seq` is known to be complete. */
  isComplete(seq: number): boolean {
    return this.completedSeq >= seq;
  }

  /** Records that everything submitted so far is complete (a wait done outside the scheduler); learns nothing. */
  markComplete(): void {
    this.completedSeq = this.seq;
    this.unitsCompleted = this.unitsSubmitted;
    this.lastDoneAt = performance.now();
  }

  /**
   * Waits until everything submitted so far is complete. With sleepy waits it first sleeps
   * through ~90 % of the GPU time it still expects, then polls for the rest. The model learns
   * from waits that found the GPU still busy; a wait that found it already idle (it slept too
   * long) lowers the estimate below what that wait proves. The first wait of a fit learns nothing.
   */
  async settle(): Promise<void> {
    const target = this.seq;
    if (this.completedSeq >= target) return;
    const units = this.unitsSubmitted - this.unitsCompleted;
    const started = Math.max(this.firstPendingAt, this.lastDoneAt);
    const nap = 0.9 * (started + units * this.msPerUnit - performance.now());
    if (nap > 1) await new Promise((r) => setTimeout(r, nap));
    const asked = performance.now();
    await this.wait(this.device.queue.onSubmittedWorkDone() as Promise<undefined>);
    const now = performance.now();
    // The first wait of a fit learns nothing: its submits carry the first dispatch of each
    // pipeline, where llvmpipe builds its shader variants (the first fit's first wait took 3.5 s
    // on a cold Mesa cache). Learned from, that made later fits nap up to 30× too long: on a
    // fresh machine the toy `auto` took 41–59 s, and 15–17 s without it.
    const learns = units > 0 && this.waited;
    if (units > 0) this.waited = true;
    if (learns && now - asked > 0.5) {
      // still busy when asked: the GPU time since `started` is measured
      const perUnit = (now - started) / units;
      this.msPerUnit = this.msPerUnit === 0 ? perUnit : 0.5 * this.msPerUnit + 0.5 * perUnit;
      // A wait that mostly did not poll measured the GPU undisturbed (polling slows a software
      // adapter: the first, unmodelled waits of a fit read up to 1.7× the GPU time there).
      if (asked - started >= 0.5 * (now - started)) this.undisturbed = this.msPerUnit;
    } else if (learns && this.msPerUnit > 0) {
      // already idle: it slept too long, and the estimate falls below what this wait proves
      this.msPerUnit = 0.8 * Math.min(this.msPerUnit, (asked - started) / units);
      this.undisturbed = this.msPerUnit;
    }
    this.completedSeq = target;
    this.unitsCompleted = this.unitsSubmitted;
    this.lastDoneAt = now;
  }

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

  /**
   * Times every dispatch with timestamp queries from now on (benchmarks only: each dispatch then
   * gets a compute pass of its own and every submit waits for its timestamps). Returns false,
   * changing nothing, when the device lacks the 'timestamp-query' feature.
   */
  enableProfiling(): boolean {
    if (!this.device.features.has('timestamp-query')) return false;
    this.profiler ??= new KernelProfiler(this.device);
    return true;
  }

  dispatch(kernel: CompiledKernel, bindGroup: GPUBindGroup, x: number, y = 1, z = 1): void {
    if (x === 0 || y === 0 || z === 0) return;
    const prof = this.profiler;
    if (prof && prof.hasRoom) {
      this.endPass();
      this.pass = this.enc().beginComputePass({ label: `webnmf ${kernel.decl.name}`, timestampWrites: prof.next(kernel.decl.name) });
    } else if (!this.pass) {
      this.pass = this.enc().beginComputePass({ label: 'webnmf compute' });
    }
    this.pass.setPipeline(kernel.pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
    this.unitsEncoded += kernel.decl.waitWeight ?? 1;
    if (prof) this.endPass();
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
    const timed = this.profiler?.resolve(this.encoder) ?? null;
    const cb = this.encoder.finish();
    this.encoder = null;
    const units = this.unitsEncoded;
    this.unitsEncoded = 0;
    if (this.sleepyWaits) {
      // At most maxInFlight outstanding: wait for everything before this submit when it is full.
      if (this.seq - this.completedSeq >= this.maxInFlight) await this.settle();
      if (this.seq === this.completedSeq) this.firstPendingAt = performance.now();
    } else {
      while (this.inFlight.length >= this.maxInFlight) await this.wait(this.inFlight.shift()!);
    }
    this.device.queue.submit([cb]);
    this.stats.submits++;
    this.seq++;
    this.unitsSubmitted += units;
    if (!this.sleepyWaits) {
      const done = this.device.queue.onSubmittedWorkDone() as Promise<undefined>;
      done.catch(() => undefined); // a lost device rejects it; the guard reports the loss
      this.inFlight.push(done);
    }
    if (timed) await this.wait(this.profiler!.collect(timed, this.kernelTimes));
  }

  /** Frees the profiler's query set and buffers. */
  dispose(): void {
    this.profiler?.destroy();
    this.profiler = null;
  }

  /** Submits and waits until the GPU finished everything. */
  async flush(): Promise<void> {
    await this.submit();
    if (this.sleepyWaits) return this.settle();
    await this.wait(this.device.queue.onSubmittedWorkDone());
    this.inFlight.length = 0;
  }

  /** Maps a staging buffer (after the submit that filled it) and returns a copy of its bytes. */
  async read(staging: GPUBuffer, size: number): Promise<ArrayBuffer> {
    this.stats.readbacks++;
    if (this.sleepyWaits) await this.settle();
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
  /** The scheduler's submit number that filled it, and the bytes to map. */
  seq: number;
  size: number;
  mapped: Promise<void> | null;
  ready: boolean;
}

export class ReadbackRing<T> {
  private readonly slots: RingSlot<T>[];
  private readonly queue: RingSlot<T>[] = [];

  /** `sched`: with its sleepy waits, maps are requested only once their submit is known complete. */
  constructor(staging: GPUBuffer[], extras: T[], private readonly guard: DeviceGuard, private readonly sched?: Scheduler) {
    this.slots = staging.map((s, i) => ({ staging: s, extra: extras[i], iteration: -1, seq: 0, size: 0, mapped: null, ready: false }));
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
    slot.seq = this.sched?.submitted ?? 0;
    slot.size = size;
    slot.mapped = null;
    if (!this.sched?.sleepyWaits) this.map(slot);
    this.queue.push(slot);
  }

  private map(slot: RingSlot<T>): void {
    const mapped = slot.staging.mapAsync(MAP_READ, 0, slot.size).then(() => {
      slot.ready = true;
    });
    mapped.catch(() => undefined); // awaited (and rethrown) by oldest(); never an unhandled rejection
    slot.mapped = mapped;
  }

  get inFlight(): number {
    return this.queue.length;
  }

  /** The oldest launched slot, if its map finished (or `wait`: once it finishes). */
  async oldest(wait: boolean): Promise<RingSlot<T> | null> {
    const slot = this.queue[0];
    if (!slot) return null;
    if (!slot.ready && !slot.mapped) {
      // Sleepy waits: map once the filling submit is complete (then the map resolves at once).
      if (!this.sched!.isComplete(slot.seq)) {
        if (!wait) return null;
        await this.sched!.settle();
      }
      this.map(slot);
      wait = true;
    }
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
        if (!s.mapped) continue; // never mapped: nothing pending
        await this.guard.guarded(s.mapped);
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

/**
 * Timestamp queries around each dispatch: a begin/end pair per compute pass, resolved at submit,
 * read back and summed per kernel name. Durations are as the implementation reports them
 * (browsers quantise timestamps).
 */
class KernelProfiler {
  private static readonly PAIRS = 512;
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  private readonly staging: GPUBuffer;
  private names: string[] = [];

  constructor(private readonly device: GPUDevice) {
    const count = 2 * KernelProfiler.PAIRS;
    this.querySet = device.createQuerySet({ label: 'webnmf kernel timestamps', type: 'timestamp', count });
    this.resolveBuf = device.createBuffer({ label: 'webnmf timestamps', size: count * 8, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
    this.staging = device.createBuffer({ label: 'webnmf timestamps staging', size: count * 8, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  }

  get hasRoom(): boolean {
    return this.names.length < KernelProfiler.PAIRS;
  }

  next(name: string): GPUComputePassTimestampWrites {
    const i = this.names.push(name) - 1;
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Encodes the resolve of this submit's queries; returns the names they belong to. */
  resolve(encoder: GPUCommandEncoder): string[] | null {
    if (this.names.length === 0) return null;
    const n = 2 * this.names.length;
    encoder.resolveQuerySet(this.querySet, 0, n, this.resolveBuf, 0);
    encoder.copyBufferToBuffer(this.resolveBuf, 0, this.staging, 0, n * 8);
    const names = this.names;
    this.names = [];
    return names;
  }

  async collect(names: string[], into: Map<string, { dispatches: number; ms: number }>): Promise<void> {
    await this.staging.mapAsync(MAP_READ, 0, names.length * 16);
    const t = new BigUint64Array(this.staging.getMappedRange(0, names.length * 16).slice(0));
    this.staging.unmap();
    names.forEach((name, i) => {
      const ns = Number(t[2 * i + 1] - t[2 * i]);
      const e = into.get(name) ?? { dispatches: 0, ms: 0 };
      e.dispatches++;
      e.ms += Math.max(ns, 0) / 1e6;
      into.set(name, e);
    });
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuf.destroy();
    this.staging.destroy();
  }
}
