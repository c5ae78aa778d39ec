/**
 * The scheduler's waits, on a fake device (no GPU needed): in Node (`sleepyWaits`) a completion
 * promise is requested only when the scheduler must wait (Dawn for Node polls on the main thread
 * while one is pending); in browsers one per submit, as before. Read-back maps follow suit.
 */
import { describe, expect, test } from 'vitest';
import { ReadbackRing, Scheduler, WaitModel } from '../src/gpu/scheduler.js';
import type { DeviceGuard } from '../src/gpu/device.js';

/** `gpuMs`: the GPU time of each submit, or a function of the submit's number (0, 1, ...). */
function fakeDevice(gpuMs: number | ((submit: number) => number) = 2) {
  let submits = 0;
  const log: string[] = [];
  /** When each completion promise was requested (performance.now()). */
  const askedAt: number[] = [];
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
        busyUntil = Math.max(busyUntil, performance.now()) + (typeof gpuMs === 'number' ? gpuMs : gpuMs(submits));
        submits++;
        log.push('submit');
      },
      onSubmittedWorkDone() {
        log.push('done?');
        askedAt.push(performance.now());
        const left = busyUntil - performance.now();
        // idle: resolved at once (a timer would take a millisecond or more)
        return left <= 0 ? Promise.resolve(undefined) : new Promise<undefined>((r) => setTimeout(() => r(undefined), left));
      },
    },
  };
  const kernel = { decl: { name: 'k' }, pipeline: {} };
  const light = { decl: { name: 'small', waitWeight: 0 }, pipeline: {} };
  return { device: device as unknown as GPUDevice, log, askedAt, kernel: kernel as never, light: light as never };
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

  test('a starting model (WaitModel.prior) sleeps through most of the expected GPU time before asking', async () => {
    const { device, log, askedAt, kernel } = fakeDevice(40);
    const s = new Scheduler(device, guard, 2, true, 40);
    for (let w = 0; w < 2; w++) {
      s.dispatch(kernel, {} as GPUBindGroup, 1);
      const t0 = performance.now();
      await s.flush();
      // 0.9 × 40 ms asleep first (timers never fire early)
      expect(askedAt[w] - t0).toBeGreaterThanOrEqual(30);
    }
    expect(log).toEqual(['submit', 'done?', 'submit', 'done?']);
    // the second wait mostly slept, so what it measured is kept as undisturbed
    expect(s.learned.undisturbed).toBe(true);
    expect(s.learned.msPerUnit).toBeGreaterThan(20);
  });

  test('without a model the waits ask at once, and what they read is marked as disturbed', async () => {
    const { device, askedAt, kernel } = fakeDevice(40);
    const s = new Scheduler(device, guard, 2, true);
    for (let w = 0; w < 2; w++) {
      s.dispatch(kernel, {} as GPUBindGroup, 1);
      const t0 = performance.now();
      await s.flush();
      expect(askedAt[w] - t0).toBeLessThan(30);
    }
    expect(s.learned.undisturbed).toBe(false);
    expect(s.learned.msPerUnit).toBeGreaterThan(20);
  });

  test('the first wait of a fit learns nothing (llvmpipe builds its shader variants in the first dispatches)', async () => {
    // the first submit takes 300 ms (a cold shader cache), the rest 10 ms
    const { device, kernel } = fakeDevice((i) => (i === 0 ? 300 : 10));
    const s = new Scheduler(device, guard, 2, true);
    s.dispatch(kernel, {} as GPUBindGroup, 1);
    await s.flush();
    expect(s.learned.msPerUnit).toBe(0);
    s.dispatch(kernel, {} as GPUBindGroup, 1);
    await s.flush();
    expect(s.learned.msPerUnit).toBeGreaterThan(5);
    expect(s.learned.msPerUnit).toBeLessThan(60);
  });

  test('a wait that finds the GPU idle (its nap was too long) lowers the model below what it proves', async () => {
    const { device, askedAt, kernel } = fakeDevice(5);
    const s = new Scheduler(device, guard, 2, true, 50); // ten times too long
    const t: number[] = [];
    for (let w = 0; w < 2; w++) {
      s.dispatch(kernel, {} as GPUBindGroup, 1);
      t.push(performance.now());
      await s.flush();
    }
    // the second wait napped ~45 ms on a 5 ms submit: the model is at most 0.8 of that
    expect(s.learned.msPerUnit).toBeLessThanOrEqual(0.8 * (askedAt[1] - t[1]) + 1e-9);
    expect(s.learned.msPerUnit).toBeLessThan(40);
  });

  test('weight-0 dispatches (the small kernels) add no expected GPU time: no nap for them', async () => {
    const { device, askedAt, light } = fakeDevice(1);
    const s = new Scheduler(device, guard, 2, true, 1000);
    s.dispatch(light, {} as GPUBindGroup, 1);
    const t0 = performance.now();
    await s.flush();
    expect(askedAt[0] - t0).toBeLessThan(500);
  });
});

describe('WaitModel', () => {
  const undisturbed = (msPerUnit: number) => ({ msPerUnit, undisturbed: true });
  test('nothing known: no prior; a known key: its value', () => {
    const m = new WaitModel();
    expect(m.prior('a', 100)).toBe(0);
    m.learn('a', 100, undisturbed(3));
    expect(m.prior('a', 100)).toBe(3);
  });

  test('an unseen key starts from the known key nearest in work, scaled by the work ratio and halved', () => {
    const m = new WaitModel();
    m.learn('small', 1000, undisturbed(1));
    m.learn('large', 100000, undisturbed(50));
    expect(m.prior('mid-low', 2000)).toBeCloseTo(0.5 * 1 * 2, 12);
    expect(m.prior('mid-high', 50000)).toBeCloseTo(0.5 * 50 * 0.5, 12);
  });

  test('a fit whose waits all polled does not overwrite what an undisturbed fit learned; nothing learned is ignored', () => {
    const m = new WaitModel();
    m.learn('a', 100, { msPerUnit: 9, undisturbed: false }); // unknown key: better than nothing
    expect(m.prior('a', 100)).toBe(9);
    m.learn('a', 100, undisturbed(5));
    m.learn('a', 100, { msPerUnit: 9, undisturbed: false });
    expect(m.prior('a', 100)).toBe(5);
    m.learn('a', 100, undisturbed(0));
    m.learn('a', 100, undisturbed(Number.NaN));
    expect(m.prior('a', 100)).toBe(5);
  });

  test('keeps at most MAX_KEYS keys, forgetting the oldest', () => {
    const m = new WaitModel();
    for (let i = 0; i <= WaitModel.MAX_KEYS; i++) m.learn(`k${i}`, 100, undisturbed((i + 1) ** 2));
    expect(m.prior(`k${WaitModel.MAX_KEYS}`, 100)).toBe((WaitModel.MAX_KEYS + 1) ** 2);
    expect(m.prior('k1', 100)).toBe(4);
    // k0 (1) is gone: its prior now comes from another key of the same work, halved (≥ 2)
    expect(m.prior('k0', 100)).toBeGreaterThanOrEqual(2);
  });
});
