/**
 * A buffer pool with byte counters. Buffers are acquired by (size, usage), released only after
 * the submit that used them completed (`releaseAfter`), reused by later acquisitions, and all
 * destroyed by `dispose()`.
 */
import { createLargeBuffer } from './device.js';

/** Allocations at least this large run inside an out-of-memory error scope. */
const LARGE = 16 * 1024 * 1024;

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly sizes = new Map<GPUBuffer, { key: string; size: number }>();
  private inUse = 0;
  private peak = 0;
  private allocated = 0;

  constructor(private readonly device: GPUDevice) {}

  /** Bytes in buffers handed out and not yet released. */
  get bytesInUse(): number {
    return this.inUse;
  }
  /** Highest bytesInUse seen. */
  get peakBytes(): number {
    return this.peak;
  }
  /** Bytes held on the device (in use + free for reuse). */
  get bytesAllocated(): number {
    return this.allocated;
  }

  async acquire(size: number, usage: GPUBufferUsageFlags, label: string): Promise<GPUBuffer> {
    const bytes = Math.max(16, Math.ceil(size / 16) * 16);
    const key = `${bytes}:${usage}`;
    let buf = this.free.get(key)?.pop();
    if (!buf) {
      const desc: GPUBufferDescriptor = { size: bytes, usage, label };
      buf = bytes >= LARGE ? await createLargeBuffer(this.device, desc) : this.device.createBuffer(desc);
      this.sizes.set(buf, { key, size: bytes });
      this.allocated += bytes;
    } else {
      buf.label = label;
    }
    this.inUse += bytes;
    this.peak = Math.max(this.peak, this.inUse);
    return buf;
  }

  /** Returns buffers to the pool now (the caller knows the GPU no longer uses them). */
  release(...bufs: GPUBuffer[]): void {
    for (const b of bufs) {
      const s = this.sizes.get(b);
      if (!s) continue;
      this.inUse -= s.size;
      let list = this.free.get(s.key);
      if (!list) this.free.set(s.key, (list = []));
      if (!list.includes(b)) list.push(b);
    }
  }

  /** Returns buffers after the work submitted so far has completed. */
  async releaseAfter(bufs: GPUBuffer[]): Promise<void> {
    try {
      await this.device.queue.onSubmittedWorkDone();
    } finally {
      this.release(...bufs);
    }
  }

  /** Destroys the free buffers (kept for reuse). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.allocated -= this.sizes.get(b)!.size;
        this.sizes.delete(b);
        b.destroy();
      }
    }
    this.free.clear();
  }

  /** Destroys every buffer, in use or not. */
  dispose(): void {
    for (const b of this.sizes.keys()) b.destroy();
    this.sizes.clear();
    this.free.clear();
    this.inUse = 0;
    this.allocated = 0;
  }
}
