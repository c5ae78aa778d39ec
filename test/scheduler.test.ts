/**
 * The scheduler's waits, on a fake device (no GPU needed): in Node (`sleepyWaits`) a completion
 * promise is requested only when the scheduler must wait (Dawn for Node polls on the main thread
 * while one is pending); in browsers one per submit, as before. Read-back maps follow suit.
 */
import { describe, expect, test } from 'vitest';
import { ReadbackRing, Scheduler } from '../src/gpu/scheduler.js';
import type { DeviceGuard } from '../src/gpu/device.js';

function fakeDevice(gpuMs = 2) {
  const log: string[] = [];
  let busyUntil = 0;
  const device = {
    createCommandEncoder: () => ({
      beginComputePass: () => ({ setPipeline() {}, setBindGroup() {}, dispatchWorkgroups() {}, end() {} }),
      copyBufferToBuffer() {},
      clearBuffer() {},
      finish: () => ({}),
    }),
    features: new Set<string>(),
    queue: {
      submit() {
        busyUntil = Math.max(busyUntil, performance.now()) + gpuMs;
        log.push('submit');
      },
      onSubmittedWorkDone() {
        log.push('done?');
        return new Promise<undefined>((r) => setTimeout(() => r(undefined), Math.max(0, busyUntil - performance.now())));
      },
    },
  };
  const kernel = { decl: { name: 'k' }, pipeline: {} };
  return { device: device as unknown as GPUDevice, log, kernel: kernel as never };
}

function stagingBuffer(log: string[]) {
  return {
    mapState: 'unmapped',
    mapAsync() {
      log.push('map');
      return Promise.resolve();
    },
    getMappedRange: () => new ArrayBuffer(16),
    unmap() {},
  } as unknown as GPUBuffer;
}

const guard = { guarded: <T>(p: Promise<T>) => p } as unknown as DeviceGuard;

describe('scheduler waits', () => {
  test('sleepy (Node): completion is requested only when two submits are outstanding, never per submit', async () => {
    const { device, log, kernel } = fakeDevice();
    const s = new Scheduler(device, guard, 2, true);
    for (let i = 0; i < 10; i++) {
      s.dispatch(kernel, {} as GPUBindGroup, 1);
      await s.submit();
    }
    await s.flush();
    // submits 3, 5, 7, 9 wait for the two before them; the flush waits for the rest
    expect(log.filter((e) => e === 'submit')).toHaveLength(10);
    expect(log.filter((e) => e === 'done?')).toHaveLength(5);
    expect(log.slice(0, 3)).toEqual(['submit', 'submit', 'done?']);
    expect(s.isComplete(10)).toBe(true);
  });

  test('markComplete: a wait done outside the scheduler counts, so settle asks nothing more', async () => {
    const { device, log, kernel } = fakeDevice();
    const s = new Scheduler(device, guard, 2, true);
    s.dispatch(kernel, {} as GPUBindGroup, 1);
    await s.submit();
    expect(s.isComplete(1)).toBe(false);
    s.markComplete();
    expect(s.isComplete(1)).toBe(true);
    await s.settle();
    expect(log).toEqual(['submit']);
  });

  test('eager (browser): one completion promise per submit', async () => {
    const { device, log, kernel } = fakeDevice();
    const s = new Scheduler(device, guard, 2, false);
    for (let i = 0; i < 4; i++) {
      s.dispatch(kernel, {} as GPUBindGroup, 1);
      await s.submit();
    }
    expect(log).toEqual(['submit', 'done?', 'submit', 'done?', 'submit', 'done?', 'submit', 'done?']);
  });

  test('sleepy ring: a loss slot is mapped only once its submit is known complete', async () => {
    const { device, log, kernel } = fakeDevice(5);
    const s = new Scheduler(device, guard, 2, true);
    const ring = new ReadbackRing([stagingBuffer(log)], [null], guard, s);
    s.dispatch(kernel, {} as GPUBindGroup, 1);
    await s.submit();
    const slot = ring.acquire()!;
    ring.launch(slot, 10, 16);
    expect(log).not.toContain('map');
    expect(await ring.oldest(false)).toBeNull(); // not known complete: no map requested, no wait
    expect(log).not.toContain('map');
    const ready = await ring.oldest(true); // waits (completion first, then the map)
    expect(ready).toBe(slot);
    expect(log).toEqual(['submit', 'done?', 'map']);
    ring.consume(slot, 16);
  });
});
