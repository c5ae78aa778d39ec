/**
 * The GPU test harness: acquires one WebGPU backend per test file, wraps every GPU test in error
 * scopes (validation, out-of-memory, internal: any error fails the test), disposes everything in
 * afterAll, and COUNTS the GPU tests that ran.
 *
 * The same file runs in Node (vitest, Dawn) and in headless Chromium (test/browser/run.mjs, which
 * bundles the suites and installs a test host on globalThis.__WEBNMF_TEST_HOST__). It therefore
 * imports no Node module statically.
 *
 * Without an adapter, GPU tests fail when WEBNMF_REQUIRE_GPU=1 and are otherwise reported as
 * skipped (never as passed). Each file prints its count and hands it to the host: in Node it is
 * written to $WEBNMF_GPU_COUNT_DIR (a fresh directory per run made by test/gpu/count-setup.ts, a
 * vitest globalSetup), which count-setup sums and prints at the end of the run as
 * "GPU tests that ran: N (node, <adapter>)"; in the browser
 * the runner sums and prints "GPU tests that ran: N (chromium, <adapter>)".
 */
import { afterAll, beforeAll, test } from 'vitest';
import { createWebGPUBackend, webgpuAvailable, type WebGPUBackend, type WebGPUBackendOptions } from '../../src/gpu/index.js';
import type { Matrix64, Problem } from '../../src/types.js';

/** What one test file reports at its end. */
export interface GpuFileCount {
  file: string;
  /** 'node' or 'chromium'. */
  environment: string;
  ran: number;
  notRun: number;
  adapter?: string;
  reason?: string;
}

/** Where the harness runs: set by the browser runner; absent in Node. */
export interface GpuTestHost {
  environment: string;
  env: Record<string, string | undefined>;
  report(count: GpuFileCount): void | Promise<void>;
}

const browserHost = (globalThis as { __WEBNMF_TEST_HOST__?: GpuTestHost }).__WEBNMF_TEST_HOST__;

const nodeHost: GpuTestHost = {
  environment: 'node',
  env: typeof process !== 'undefined' ? process.env : {},
  async report(count) {
    const [{ mkdirSync, writeFileSync }, { join }] = await Promise.all([import('node:fs'), import('node:path')]);
    // set by test/gpu/count-setup.ts (one directory per run); without it (a run without that
    // globalSetup) the count only goes to the console
    const dir = process.env.WEBNMF_GPU_COUNT_DIR;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${count.file}.${process.pid}.json`), JSON.stringify(count));
  },
};

export const HOST: GpuTestHost = browserHost ?? nodeHost;
export const REQUIRE_GPU = HOST.env.WEBNMF_REQUIRE_GPU === '1';
/** 'node' or 'chromium'. */
export const ENVIRONMENT = HOST.environment;

export interface GpuSuite {
  /** Registers a GPU test; `fn` gets the file's backend. */
  test(name: string, fn: (backend: WebGPUBackend) => Promise<void>, timeout?: number): void;
  readonly state: { backend?: WebGPUBackend; reason?: string; ran: number; notRun: number };
}

const fileName = (fileUrl: string): string => decodeURIComponent(new URL(fileUrl).pathname.split('/').pop() ?? fileUrl);

export function gpuSuite(fileUrl: string, opts: WebGPUBackendOptions = {}): GpuSuite {
  const state: GpuSuite['state'] = { ran: 0, notRun: 0 };
  const file = fileName(fileUrl);
  beforeAll(async () => {
    const avail = await webgpuAvailable();
    if (!avail.ok) {
      state.reason = avail.reason;
      return;
    }
    state.backend = await createWebGPUBackend(opts);
  });
  afterAll(async () => {
    const adapter = state.backend?.adapterInfo;
    state.backend?.dispose();
    const line = `[webnmf gpu] ${file}: ${state.ran} GPU test(s) ran, ${state.notRun} not run (${ENVIRONMENT}${adapter ? `, ${adapter}` : ''})${state.reason ? ` (${state.reason})` : ''}`;
    console.log(line);
    await HOST.report({ file, environment: ENVIRONMENT, ran: state.ran, notRun: state.notRun, adapter, reason: state.reason });
  });
  return {
    state,
    test(name, fn, timeout) {
      test(name, async (ctx) => {
        const backend = state.backend;
        if (!backend) {
          state.notRun++;
          if (REQUIRE_GPU) throw new Error(`WEBNMF_REQUIRE_GPU=1 but: ${state.reason}`);
          // Not a quiet skip: only without an adapter and without WEBNMF_REQUIRE_GPU (CI sets it,
          // turning this into a failure above); counted as "not run" and printed with the reason.
          ctx.skip(/^no WebGPU adapter/.test(state.reason ?? '') ? state.reason : `no WebGPU adapter: ${state.reason}`);
          return;
        }
        const dev = backend.device;
        dev.pushErrorScope('validation');
        dev.pushErrorScope('out-of-memory');
        dev.pushErrorScope('internal');
        let failure: unknown;
        try {
          await fn(backend);
        } catch (e) {
          failure = e;
        }
        const errors = [await dev.popErrorScope(), await dev.popErrorScope(), await dev.popErrorScope()].filter((e) => e !== null);
        if (failure) throw failure;
        if (errors.length > 0) throw new Error(`GPU errors during the test: ${errors.map((e) => e!.message).join('; ')}`);
        state.ran++;
      }, timeout);
    },
  };
}

// ---- small deterministic problems ------------------------------------------------------------

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const mat = (rows: number, cols: number, f: (i: number, j: number) => number): Matrix64 => {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = f(i, j);
  return { rows, cols, data };
};

export interface ProblemSpec {
  n: number;
  rows: number;
  cols: number;
  k: number;
  /** Columns of G; 0 = no G. */
  m?: number;
  lambda?: number;
  mu?: number | number[];
  epsilonReg?: number;
  simplex?: 'h' | 'w' | 'none';
  loss?: 'kl' | 'frobenius';
  majorizer?: 'espm' | 'tight';
  seed?: number;
  /** Integer counts (packable) or continuous values. */
  integer?: boolean;
  maxIter?: number;
  lossEvery?: number;
  tol?: number;
  noStop?: boolean;
  snapshots?: number[];
  /** Use another start (same X). */
  startSeed?: number;
}

/** A small synthetic problem, Poisson-like, deterministic. */
export function makeProblem(s: ProblemSpec): Problem {
  const r = rng(s.seed ?? 1);
  const p = s.rows * s.cols;
  const k = s.k;
  const m = s.m ?? 0;
  const G = m > 0 ? mat(s.n, m, () => 0.05 + r()) : undefined;
  const mm = m > 0 ? m : s.n;
  const Wt = mat(mm, k, () => 0.1 + r());
  const Ht = mat(k, p, () => r());
  const D = G ? mat(s.n, k, (i, c) => { let v = 0; for (let j = 0; j < m; j++) v += G.data[i * m + j] * Wt.data[j * k + c]; return v; }) : Wt;
  const X = mat(s.n, p, (i, j) => {
    let v = 0;
    for (let c = 0; c < k; c++) v += D.data[i * k + c] * Ht.data[c * p + j];
    const noisy = v * (0.7 + 0.6 * r()) * (m > 0 ? 1 : 3);
    return s.integer === false ? noisy : Math.floor(noisy * 2);
  });
  const r2 = rng(s.startSeed ?? 1000 + (s.seed ?? 1));
  const W0 = mat(mm, k, () => 0.2 + r2());
  let H0 = mat(k, p, () => 0.05 + r2());
  if ((s.simplex ?? 'none') === 'h') {
    const d = H0.data;
    for (let j = 0; j < p; j++) {
      let t = 0;
      for (let c = 0; c < k; c++) t += d[c * p + j];
      for (let c = 0; c < k; c++) d[c * p + j] /= t;
    }
  }
  if ((s.simplex ?? 'none') === 'w') {
    for (let c = 0; c < k; c++) {
      let t = 0;
      for (let j = 0; j < mm; j++) t += W0.data[j * k + c];
      for (let j = 0; j < mm; j++) W0.data[j * k + c] /= t;
    }
  }
  const mu = typeof s.mu === 'number' || s.mu === undefined ? new Float64Array(k).fill(s.mu ?? 0) : Float64Array.from(s.mu);
  return {
    X,
    G,
    components: k,
    loss: s.loss ?? 'kl',
    lambda: s.lambda ?? 0,
    mu,
    epsilonReg: s.epsilonReg ?? 1,
    simplex: s.simplex ?? 'none',
    simplexSolver: 'exact',
    simplexTol: 1e-10,
    majorizer: s.majorizer ?? 'espm',
    shape: { rows: s.rows, cols: s.cols },
    W0,
    H0,
    maxIter: s.maxIter ?? 1,
    tol: s.tol ?? 1e-4,
    lossEvery: s.lossEvery ?? 1,
    noStop: s.noStop ?? true,
    snapshots: s.snapshots ?? [],
  };
}

/** max |a − e| / max |e| and the worst element-wise relative deviation (reporting only). */
export function deviation(a: ArrayLike<number>, e: ArrayLike<number>): { abs: number; rel: number; scaled: number } {
  let abs = 0;
  let rel = 0;
  let emax = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    abs = Math.max(abs, Number.isNaN(d) ? Infinity : d);
    rel = Math.max(rel, Number.isNaN(d) ? Infinity : d / Math.abs(e[i]));
    emax = Math.max(emax, Math.abs(e[i]));
  }
  return { abs, rel, scaled: abs / emax };
}

/**
 * Backends with engine options (kernel variants), one per X layout so that each pipeline compiles
 * once per variant (software compiles are slow), on the suite's device; disposed in afterAll.
 * Call inside a describe block.
 */
export function variantBackends(opts: Omit<WebGPUBackendOptions, 'device' | 'sparseX'>): (device: GPUDevice, sparseX: boolean) => Promise<WebGPUBackend> {
  const backends = new Map<boolean, Promise<WebGPUBackend>>();
  afterAll(async () => {
    for (const b of backends.values()) (await b).dispose();
  });
  return (device, sparseX) => {
    if (!backends.has(sparseX)) backends.set(sparseX, createWebGPUBackend({ ...opts, device, sparseX }));
    return backends.get(sparseX)!;
  };
}

/**
 * X with 70 % of its entries zeroed (and no pixel left empty), so that 'auto' would pick the
 * sparse layout too; from a random start the simplex then forces up entries whose update wanted
 * them small (the case of the shift by min den in h_update.wgsl).
 */
export function mostlyZero(X: Matrix64): Matrix64 {
  const { rows: n, cols: p } = X;
  const data = Float64Array.from(X.data, (v, j) => ((j * 7919) % 10 < 7 ? 0 : v));
  for (let j = 0; j < p; j++) {
    let empty = true;
    for (let i = 0; i < n && empty; i++) empty = data[i * p + j] === 0;
    if (empty) data[j] = 1;
  }
  return { rows: n, cols: p, data };
}
