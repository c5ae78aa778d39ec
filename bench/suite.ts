/**
 * The webnmf GPU benchmark suite: workloads, measurement protocol and self-verification.
 * Platform-neutral (no Node imports): `bench/run.ts` runs it in Node, `demo/src/bench/main.ts`
 * in the browser; both hand in a `BenchEnv` (file access for the ESPM toy fixtures, peak memory)
 * and get the same `BenchResult` JSON back.
 *
 * Protocol per NMF workload (one GPU device for the whole run, one CPU reference in the same run):
 *  1. Data and ONE prepared start (W0, H0) shared by both backends (`prepareProblem`, init
 *     'random' with seed 0 for generated cubes; ESPM's own W0/H0 for the toy problem).
 *  2. Warm-up / verification run on WebGPU: `verifyIters` iterations, traced by phase (upload,
 *     pipeline compile, first sample, loop). Its wall time is the warm-up figure.
 *  3. `repeats` (≥ 5) steady-state runs of `repeatIters` iterations: it/s from the loop phase
 *     (no upload, no compile), and end to end (whole solve call). Median, min, max, IQR.
 *  4. CPU float64 reference (`solveCpu`) from the same start for `cpuIters` iterations; its rate
 *     is per iteration over the sampled segments (one run; big cubes run fewer iterations).
 *  5. Trust: the WebGPU final loss after `cpuIters` iterations must be within `verifyRelTol`
 *     (relative) of the reference's. A failed check marks the workload `verified: false`.
 */
import { countsScale } from '../src/gpu/x-layout.js';
import { autoFit, binCube } from '../src/auto/index.js';
import { solveCpu } from '../src/cpu/solve.js';
import { prepareProblem } from '../src/estimator.js';
import { parseNpy } from '../src/io/npy.js';
import { compareToTruth } from '../src/metrics.js';
import { fitNNLS, resolveNNLSOptions } from '../src/modes/nnls.js';
import { makeSyntheticDataset, type SyntheticDataset } from '../src/synth.js';
import type { Backend, LossSample, Matrix, Matrix64, Problem, SolveResult } from '../src/types.js';
import type { WebGPUBackend } from '../src/gpu/index.js';

export const SUITE_VERSION = 1;

// ---- recorded (not re-measured) reference figures --------------------------------------------
/** From ../shared/docs/espm-smoothnmf.md §9: recorded on a 2-core x86-64 machine, not re-measured here. */
export const RECORDED_PEERS = [
  { who: 'ESPM 1.1.3 SmoothNMF (numpy + OpenBLAS)', workload: 'toy-notebook', itPerSecond: [6, 7], source: 'docs/espm-smoothnmf.md §9', machine: '2-core x86-64', recorded: true },
  { who: 'ESPM 1.1.3 SmoothNMF (numpy + OpenBLAS)', workload: 'toy-plain-kl', itPerSecond: [13, 19], source: 'docs/espm-smoothnmf.md §9', machine: '2-core x86-64', recorded: true },
  { who: 'scikit-learn NMF, KL multiplicative updates', workload: 'toy-plain-kl', itPerSecond: [21, 29], source: 'docs/espm-smoothnmf.md §9', machine: '2-core x86-64', recorded: true },
] as const;

// ---- types -----------------------------------------------------------------------------------
export interface BenchEnv {
  platform: 'node' | 'browser';
  /** Bytes of a file of the ESPM toy fixtures (path relative to fixtures/espm-toy/), or null. */
  readToyFile(rel: string): Promise<Uint8Array | null>;
  /** Peak resident memory of the process so far, bytes (Node: maxRSS), or null where unknown. */
  peakMemoryBytes(): number | null;
  /** Current JS heap / resident bytes, or null. */
  memoryBytes(): number | null;
  log(msg: string): void;
  /** Yield to the event loop / UI between steps. */
  pause?(): Promise<void>;
}

export interface BenchOptions {
  quick: boolean;
  /** Nominal device memory bandwidth, GB/s: gives the roofline fraction. */
  peakGbps?: number;
  /** Override the number of steady-state repeats (≥ 5 recommended). */
  repeats?: number;
  /** Skip the CPU reference (no ratio, no verification). */
  noCpu?: boolean;
  /** Also run autoFit on the CPU reference (slow: about a minute or more on the toy problem). */
  autoCpu?: boolean;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Interquartile range. */
  iqr: number;
  /** (max − min) / median. */
  relSpread: number;
  n: number;
  samples: number[];
}

export interface WorkloadResult {
  name: string;
  group: string;
  description: string;
  /** Sizes: channels n, pixels p, components k, G columns m, problems in the batch. */
  size: { n: number; p: number; k: number; m: number | null; batch: number; elements: number; label: string };
  status: 'ok' | 'failed' | 'skipped';
  error?: string;
  /** Figures per backend. Rates are iterations per second of ONE problem (batch: problem-iterations/s). */
  gpu?: Record<string, unknown> & { itPerSecond?: Spread; endToEndItPerSecond?: Spread };
  cpu?: Record<string, unknown> & { itPerSecond?: Spread };
  /** gpu median it/s ÷ cpu median it/s. */
  speedup?: number | null;
  verification?: { kind: string; passed: boolean; detail: Record<string, unknown> };
  notes: string[];
  /** Process memory after the workload. */
  peakProcessMemoryBytes: number | null;
  wallSeconds: number;
}

export interface BenchResult {
  suite: 'webnmf-gpu-bench';
  suiteVersion: number;
  date: string;
  quick: boolean;
  platform: 'node' | 'browser';
  machine: Record<string, unknown>;
  versions: Record<string, unknown>;
  adapter: {
    available: boolean;
    name: string | null;
    fallback: boolean | null;
    software: boolean | null;
    features: string[];
    timestampQuery: boolean;
    limits: Record<string, number>;
    reason?: string;
  };
  options: { peakGbps: number | null; repeats: number | null; workloads: string[] };
  recordedPeers: typeof RECORDED_PEERS;
  missing: string[];
  workloads: WorkloadResult[];
  /** No workload failed (a run or its verification). */
  allVerified: boolean;
  /** Workloads whose GPU result passed / failed the check against the reference, and those not checked. */
  verifiedCount: number;
  failed: string[];
  unverified: string[];
  totalSeconds: number;
}

interface Ctx {
  env: BenchEnv;
  opts: BenchOptions;
  gpu: WebGPUBackend | null;
  /** An engine on the same device that times every dispatch (timestamp queries), or null. */
  profiler: WebGPUBackend | null;
  trace: { phases: { phase: string; ms: number }[] };
  cache: Map<string, unknown>;
}

export interface Workload {
  name: string;
  group: string;
  description: string;
  /** Part of the `--quick` subset. */
  quick: boolean;
  /** Part of the default full run (all workloads are selectable by name). */
  full: boolean;
  run(ctx: Ctx): Promise<Omit<WorkloadResult, 'name' | 'group' | 'description' | 'peakProcessMemoryBytes' | 'wallSeconds'>>;
}

// ---- statistics ------------------------------------------------------------------------------
export function spread(samples: number[]): Spread {
  const s = [...samples].sort((a, b) => a - b);
  const q = (f: number) => {
    if (s.length === 0) return NaN;
    const i = f * (s.length - 1);
    const lo = Math.floor(i);
    const hi = Math.ceil(i);
    return s[lo] + (s[hi] - s[lo]) * (i - lo);
  };
  const median = q(0.5);
  return { median, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, iqr: q(0.75) - q(0.25), relSpread: (s[s.length - 1] - s[0]) / median, n: s.length, samples };
}

const round = (v: number, d = 4) => (Number.isFinite(v) ? Number(v.toPrecision(d)) : v);

// ---- data --------------------------------------------------------------------------------------
interface Toy {
  X: Matrix64;
  G: Matrix64;
  trueH: Matrix64;
  trueD: Matrix64;
  shape: { rows: number; cols: number };
  settings: Record<string, { run: Record<string, any>; W0: Matrix64; H0: Matrix64 }>;
}

async function loadToy(ctx: Ctx): Promise<Toy | null> {
  if (ctx.cache.has('toy')) return ctx.cache.get('toy') as Toy | null;
  const npy = async (rel: string): Promise<Matrix64 | null> => {
    const b = await ctx.env.readToyFile(rel);
    if (!b) return null;
    const a = parseNpy(b, rel);
    return { rows: a.shape[0], cols: a.shape[1] ?? 1, data: Float64Array.from(a.data as ArrayLike<number>) };
  };
  const X = await npy('X.npy');
  let toy: Toy | null = null;
  if (X) {
    const settings: Toy['settings'] = {};
    for (const s of ['b_notebook', 'a_plain_kl']) {
      const runBytes = await ctx.env.readToyFile(`${s}/run.json`);
      const W0 = await npy(`${s}/W0.npy`);
      const H0 = await npy(`${s}/H0.npy`);
      if (runBytes && W0 && H0) settings[s] = { run: JSON.parse(new TextDecoder().decode(runBytes)), W0, H0 };
    }
    toy = { X, G: (await npy('G.npy'))!, trueH: (await npy('H.npy'))!, trueD: (await npy('GW.npy'))!, shape: { rows: 100, cols: 100 }, settings };
  }
  ctx.cache.set('toy', toy);
  return toy;
}

function edxCube(ctx: Ctx, rows: number, cols: number, channels: number): SyntheticDataset {
  const key = `edx-${rows}x${cols}x${channels}`;
  const hit = ctx.cache.get(key) as SyntheticDataset | undefined;
  if (hit) return hit;
  // keep one generated cube at a time (the big one is 1 GiB of float64 per array)
  for (const k of [...ctx.cache.keys()]) if (k.startsWith('edx-') || k.startsWith('prob-')) ctx.cache.delete(k);
  const t = performance.now();
  const ds = makeSyntheticDataset({ rows, cols, channels, k: 4, gPeaks: 15, countsPerPixel: 300, seed: 7, background: 0.2 });
  // Xdot (the noiseless cube) is not needed: drop it (a full float64 copy)
  const lean = { ...ds, Xdot: { rows: 0, cols: 0, data: new Float64Array(0) } } as SyntheticDataset;
  ctx.env.log(`  generated ${key} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  ctx.cache.set(key, lean);
  return lean;
}

/**
 * Modelled device-memory traffic of one iteration (bytes), a lower bound that counts every
 * array once per kernel that must stream it: h_update reads X and H_in and writes H_out; w_num
 * reads X and H and writes the W partials (one per 256-pixel segment); w_reduce reads them; the
 * loss kernel (every `lossEvery` iterations) reads X and both H. Per problem of a batch.
 */
function bytesPerIteration(n: number, p: number, k: number, bx: number, batch: number, lossEvery: number, sparseNnz?: number): number {
  // sparse layout (engine stats.xLayout 'sparse'): each pass streams its half, one u32 per nonzero
  // plus its offsets (per pixel; per 256-pixel segment and channel)
  const Xb = sparseNnz === undefined ? n * p * bx : sparseNnz * 4 + (p + n * Math.ceil(p / 256)) * 4;
  const Hb = k * p * 4;
  const partials = Math.ceil(p / 256) * (n * k + 2 * k) * 4;
  const iter = 2 * Xb + 3 * Hb + 2 * partials;
  const loss = (Xb + 2 * Hb) / Math.max(1, lossEvery);
  return batch * (iter + loss);
}

// ---- the generic NMF workload --------------------------------------------------------------------
interface NmfSpec {
  problems: Problem[];
  /** Iterations of the verification run (GPU and CPU from the same start). */
  verifyIters: number;
  /** Iterations of each steady-state repeat. */
  repeatIters: number;
  /** Problems of the batch the CPU runs (all when absent). */
  cpuSubset?: number[];
  lossEvery: number;
  notes?: string[];
  label: string;
  verifyRelTol?: number;
}

const withIters = (q: Problem, maxIter: number, lossEvery: number): Problem => ({ ...q, maxIter, lossEvery: Math.min(lossEvery, maxIter), noStop: true, snapshots: [] });

/** Iterations to reach (1 + rel) × target, from a loss history; null when never reached. */
function itersToReach(losses: LossSample[], target: number): number | null {
  const hit = losses.find((l) => l.full <= target);
  return hit ? hit.iteration : null;
}

async function runNmf(ctx: Ctx, spec: NmfSpec): Promise<Awaited<ReturnType<Workload['run']>>> {
  const q0 = spec.problems[0];
  const B = spec.problems.length;
  const n = q0.X.rows;
  const p = q0.X.cols;
  const k = q0.components;
  const m = q0.G ? q0.G.cols : null;
  const size = { n, p, k, m, batch: B, elements: n * p, label: spec.label };
  const notes = [...(spec.notes ?? [])];
  const verifyRelTol = spec.verifyRelTol ?? 1e-4;
  const reachRel = 1e-3;
  const out: Awaited<ReturnType<Workload['run']>> = { size, status: 'ok', notes };
  const repeats = Math.max(ctx.opts.repeats ?? 5, 1);
  let gpuVerify: SolveResult[] | null = null;
  let gpuMedian = NaN;

  if (ctx.gpu) {
    const gpu = ctx.gpu;
    const peakBefore = gpu.pool.peakBytes;
    ctx.trace.phases = [];
    const t0 = performance.now();
    ctx.env.log(`  GPU warm-up/verification run: ${spec.verifyIters} iteration(s) × ${B} problem(s)`);
    gpuVerify = await gpu.solveBatch(spec.problems.map((q) => withIters(q, spec.verifyIters, spec.lossEvery)));
    const warmWall = (performance.now() - t0) / 1000;
    const warmPhases = ctx.trace.phases.map((ph) => ({ phase: ph.phase, seconds: round(ph.ms / 1000) }));
    // fixed cost of a call: every traced phase but the loop (upload, compile, first submit)
    const fixedOf = (phases: { phase: string; ms: number }[]) => (phases.some((ph) => ph.phase.startsWith('loop')) ? phases.filter((ph) => !ph.phase.startsWith('loop')).reduce((a, ph) => a + ph.ms, 0) / 1000 : NaN);
    const warmFixed = fixedOf(ctx.trace.phases);
    const repFixed: number[] = [];
    const steady: number[] = [];
    const e2e: number[] = [];
    const setupS: number[] = [];
    let stats: Record<string, number> = {};
    ctx.env.log(`  GPU: ${repeats} repeats × ${spec.repeatIters} iteration(s) (warm-up took ${warmWall.toFixed(1)} s)`);
    for (let r = 0; r < repeats; r++) {
      ctx.trace.phases = [];
      const t = performance.now();
      const res = await gpu.solveBatch(spec.problems.map((q) => withIters(q, spec.repeatIters, spec.lossEvery)));
      const wall = (performance.now() - t) / 1000;
      // iterating time = every traced phase after the set-up (upload, compile): the first submit
      // and the loop (warm repeats: no driver compile left in the first submit)
      const iterPhases = ctx.trace.phases.filter((ph) => !/^(upload|compile)/.test(ph.phase));
      const loopS = iterPhases.length ? iterPhases.reduce((a, ph) => a + ph.ms, 0) / 1000 : wall;
      setupS.push((wall - loopS));
      repFixed.push(fixedOf(ctx.trace.phases));
      steady.push((spec.repeatIters * B) / loopS);
      e2e.push((spec.repeatIters * B) / wall);
      stats = ((res[0] as unknown as { stats?: Record<string, number> }).stats) ?? {};
      await ctx.env.pause?.();
    }
    // Per-kernel GPU time: one extra run on an engine that timestamps every dispatch (one pass per
    // dispatch, so it is not part of the timed repeats above).
    let kernelMsPerIteration: Record<string, number> | undefined;
    if (ctx.profiler) {
      const pr = await ctx.profiler.solveBatch(spec.problems.map((q) => withIters(q, spec.repeatIters, spec.lossEvery)));
      const kt = (pr[0] as unknown as { stats?: { kernelTimes?: Record<string, { dispatches: number; ms: number }> } }).stats?.kernelTimes;
      if (kt) kernelMsPerIteration = Object.fromEntries(Object.entries(kt).map(([name, t]) => [name, round(t.ms / spec.repeatIters)]));
    }
    const s = spread(steady);
    gpuMedian = s.median;
    const xLayout = (stats as unknown as { xLayout?: string }).xLayout;
    const bx = xLayout === 'u16' ? 2 : xLayout === 'f32' ? 4 : countsScale(q0.X.data) ? 2 : 4; // engines without stats.xLayout: the engine's rule
    const sparse = xLayout === 'sparse';
    let nnz = 0;
    if (sparse) for (let j = 0; j < q0.X.data.length; j++) if (q0.X.data[j] !== 0) nnz++;
    const bpi = bytesPerIteration(n, p, k, bx, 1, spec.lossEvery, sparse ? nnz : undefined);
    if (xLayout) notes.push(`X on the GPU: ${xLayout}${sparse ? ` (nonzero counts only; ${(100 * (1 - nnz / (n * p))).toFixed(1)} % zeros)` : ''}`);
    const gbps = (bpi * s.median) / 1e9;
    const it = spec.repeatIters;
    out.gpu = {
      adapter: gpu.adapterInfo,
      warmup: {
        iterations: spec.verifyIters,
        wallSeconds: round(warmWall),
        phases: warmPhases,
        // compile + first use: the first call's fixed phases minus a warm call's (same first submit)
        overheadSeconds: Number.isFinite(warmFixed) ? round(warmFixed - spread(repFixed).median) : round(warmWall - (spec.verifyIters * B) / s.median),
        overheadDefinition: "first call's upload + compile + first submit, minus the median of the same phases in the warm repeats",
      },
      repeats,
      iterationsPerRepeat: it,
      itPerSecond: s,
      endToEndItPerSecond: spread(e2e),
      steadyStateDefinition: 'iterations ÷ traced time after set-up (first submit + loop; excludes X packing/upload and pipeline creation) of warm repeats',
      setupSecondsPerRepeat: spread(setupS),
      msPerIteration: round(1000 / s.median),
      ...(kernelMsPerIteration ? { kernelMsPerIteration, kernelTimeDefinition: 'GPU time per iteration of each kernel from timestamp queries (one profiling run, one compute pass per dispatch); loss: every lossEvery iterations, averaged' } : {}),
      bytesPerIteration: Math.round(bpi),
      xBytesPerElement: bx,
      pixelChunks: Math.ceil(p / Math.max(64, Math.min(Math.floor(gpu.device.limits.maxStorageBufferBindingSize / (n * bx)), 65535 * 64))),
      bytesModel: `modelled lower bound: 2·X (${bx === 2 ? 'packed u16' : 'float32'}) + 3·H + W partials, + loss every ${spec.lossEvery}`,
      effectiveGBps: round(gbps),
      rooflineFraction: ctx.opts.peakGbps ? round(gbps / ctx.opts.peakGbps) : null,
      dispatchesPerIteration: round((stats.dispatches ?? NaN) / it),
      submitsPerIteration: round((stats.submits ?? NaN) / it),
      readbacksPerRun: (stats.readbacks ?? 0) + Math.floor(it / Math.min(spec.lossEvery, it)) + 1,
      readbacksModel: 'mapped read-backs per run: the final iterate (engine stats.readbacks) + one loss-ring map per loss sample (iteration 0 and every lossEvery)',
      readbacksPerIteration: round(((stats.readbacks ?? 0) + Math.floor(it / Math.min(spec.lossEvery, it)) + 1) / it),
      engineStats: stats,
      poolPeakBytes: Math.max(gpu.pool.peakBytes, peakBefore),
      poolAllocatedBytes: gpu.pool.bytesAllocated,
      finalLoss: gpuVerify[0].losses.at(-1)?.full ?? null,
      verifyIterations: gpuVerify[0].nIter,
    };
  }

  if (!ctx.opts.noCpu) {
    const subset = spec.cpuSubset ?? spec.problems.map((_, i) => i);
    const segRates: number[] = [];
    const cpuRes: SolveResult[] = [];
    ctx.env.log(`  CPU reference: ${spec.verifyIters} iteration(s) × ${subset.length} problem(s)`);
    const t0 = performance.now();
    for (const i of subset) {
      let last = { it: 0, t: performance.now() };
      const r = await solveCpu(withIters(spec.problems[i], spec.verifyIters, spec.lossEvery), {
        onProgress: (pr) => {
          const now = performance.now();
          if (pr.iteration > last.it) segRates.push((pr.iteration - last.it) / ((now - last.t) / 1000));
          last = { it: pr.iteration, t: now };
        },
      });
      cpuRes.push(r);
    }
    const wall = (performance.now() - t0) / 1000;
    const s = segRates.length ? spread(segRates) : spread([(spec.verifyIters * subset.length) / wall]);
    out.cpu = {
      backend: 'cpu (float64 reference, solveCpu)',
      iterations: spec.verifyIters,
      problems: subset.length,
      wallSeconds: round(wall),
      itPerSecond: s,
      overallItPerSecond: round((spec.verifyIters * subset.length) / wall),
      samplesAre: 'loss-sample segments of one run (incl. loss evaluation)',
      msPerIteration: round(1000 / s.median),
      finalLoss: cpuRes[0].losses.at(-1)?.full ?? null,
    };
    if (subset.length < B) notes.push(`CPU reference ran ${subset.length} of the ${B} problems (problems ${subset.join(', ')}); its rate is per problem`);
    // time to reach a stated loss: within reachRel of the reference's final loss
    const target = (cpuRes[0].losses.at(-1)?.full ?? NaN) * (1 + reachRel);
    const itC = itersToReach(cpuRes[0].losses, target);
    const tolText = `loss ≤ (1 + ${reachRel}) × reference loss after ${spec.verifyIters} iterations`;
    out.cpu.timeToTolerance = { target: tolText, iterations: itC, seconds: itC === null ? null : round(itC / s.median) };
    if (gpuVerify && out.gpu) {
      const itG = itersToReach(gpuVerify[0].losses, target);
      out.gpu.timeToTolerance = { target: tolText, iterations: itG, seconds: itG === null ? null : round(itG / gpuMedian), withWarmupSeconds: itG === null ? null : round(itG / gpuMedian + (out.gpu.warmup as { overheadSeconds: number }).overheadSeconds) };
      out.speedup = round(gpuMedian / s.median);
      const detail: Record<string, unknown> = { iterations: spec.verifyIters, relTol: verifyRelTol, problems: [] as unknown[] };
      let passed = true;
      for (const [j, i] of subset.entries()) {
        const lg = gpuVerify[i].losses.at(-1)!;
        const lc = cpuRes[j].losses.at(-1)!;
        const rel = Math.abs(lg.full - lc.full) / Math.abs(lc.full);
        const ok = lg.iteration === lc.iteration && rel <= verifyRelTol && Number.isFinite(lg.full);
        passed &&= ok;
        (detail.problems as unknown[]).push({ problem: i, iteration: lg.iteration, gpuLoss: lg.full, cpuLoss: lc.full, relDiff: rel, ok });
      }
      out.verification = { kind: 'final loss vs CPU float64 reference, same start, same iterations', passed, detail };
      if (!passed) out.status = 'failed';
    }
  } else if (ctx.gpu) {
    notes.push('CPU reference skipped (--no-cpu): not verified');
  }
  return out;
}

// ---- workload definitions ------------------------------------------------------------------------
function toyWorkload(setting: 'b_notebook' | 'a_plain_kl', name: string): Workload {
  return {
    name,
    group: 'espm-toy',
    description: `ESPM toy problem (200 × 100 × 100, k = 3), ${setting === 'b_notebook' ? 'notebook setting: λ = 2, μ = 0.05, G, simplex on H' : 'plain KL: no G, λ = μ = 0, no simplex'}, ESPM's own start, 200 fixed iterations`,
    quick: setting === 'b_notebook',
    full: true,
    async run(ctx) {
      const toy = await loadToy(ctx);
      const st = toy?.settings[setting];
      if (!toy || !st) throw new SkipError('ESPM toy fixtures not found (shared/fixtures/espm-toy beside the repository; in the browser pick the folder)');
      const par = st.run.params;
      const s = st.run.norm_factor as number;
      const k = par.n_components as number;
      const iters = ctx.opts.quick ? 50 : 200;
      const repeatIters = ctx.opts.quick ? 20 : 40;
      const problem: Problem = {
        X: { rows: toy.X.rows, cols: toy.X.cols, data: toy.X.data.map((v) => v * s) },
        G: par.G_given ? toy.G : undefined,
        components: k,
        loss: 'kl',
        lambda: par.lambda_L,
        mu: new Float64Array(k).fill(par.mu),
        epsilonReg: par.epsilon_reg,
        simplex: par.simplex_H ? 'h' : 'none',
        simplexSolver: 'exact',
        simplexTol: 1e-10,
        majorizer: 'espm',
        shape: { rows: par.shape_2d[0], cols: par.shape_2d[1] },
        W0: st.W0,
        H0: st.H0,
        maxIter: iters,
        tol: par.tol,
        lossEvery: 10,
        noStop: true,
        snapshots: [],
      };
      const r = await runNmf(ctx, {
        problems: [problem], verifyIters: iters, repeatIters, lossEvery: 10, label: '200×100×100 k3',
        notes: [`ESPM reference loss after 200 iterations: ${st.run.final_full_loss}`, `verification run ${iters} iterations (GPU and CPU); GPU repeats of ${repeatIters} iterations`, ...(ctx.opts.quick ? ['--quick: 50 iterations instead of 200'] : [])],
      });
      if (!ctx.opts.quick && r.gpu) r.gpu.espmFinalLoss200 = st.run.final_full_loss;
      return r;
    },
  };
}

/**
 * Every k = 3..8 is a selectable workload; the default full run takes the `fullKs` (it must end
 * in well under 10 minutes on 2 shared cores with lavapipe). verify: iterations of the GPU/CPU
 * verification run; repeat: iterations per steady-state GPU repeat.
 */
const EDX_SIZES = [
  { rows: 64, cols: 64, channels: 512, ks: [3, 4, 5, 6, 7, 8], verify: 20, repeat: 10, quickK: 3, fullKs: [3, 8] },
  { rows: 128, cols: 128, channels: 1024, ks: [3, 4, 5, 6, 7, 8], verify: 3, repeat: 3, fullKs: [3] },
  { rows: 256, cols: 256, channels: 2048, ks: [3, 4, 5, 6, 7, 8], verify: 1, repeat: 1, fullKs: [3] },
] as const;

function edxWorkloads(): Workload[] {
  const out: Workload[] = [];
  for (const sz of EDX_SIZES) {
    for (const k of sz.ks) {
      const label = `${sz.rows}×${sz.cols}×${sz.channels}`;
      const f32MiB = (sz.rows * sz.cols * sz.channels * 4) / 2 ** 20;
      out.push({
        name: `edx-${sz.rows}x${sz.cols}x${sz.channels}-k${k}`,
        group: `edx-${sz.rows}x${sz.cols}x${sz.channels}`,
        description: `generated EDX-like cube ${label} (Poisson counts, 300/pixel, 15 Gaussian lines + continuum in G), k = ${k}, λ = 2, μ = 0.05, simplex on H, normalised, random start (seed 0)`,
        quick: 'quickK' in sz && sz.quickK === k,
        full: !('fullKs' in sz) || (sz.fullKs as readonly number[]).includes(k),
        async run(ctx) {
          const ds = edxCube(ctx, sz.rows, sz.cols, sz.channels);
          const { problem } = prepareProblem(ds.X, { components: k, G: ds.G, shape: ds.shape, lambda: 2, mu: 0.05, simplex: 'h', normalize: true, init: 'random', seed: 0, maxIter: sz.verify, noStop: true, lossEvery: 10 });
          const notes: string[] = [];
          if (f32MiB > 128) notes.push(`X is ${f32MiB.toFixed(0)} MiB in float32 (over 128 MiB): the engine's chunked path splits the pixels over several storage bindings where the device's binding limit requires it`);
          if (sz.verify < 10) notes.push(`heavy: ${sz.verify} verification iteration(s) (GPU and CPU) and ${sz.repeat} iterations per GPU repeat; CPU rate is per iteration over ${sz.verify} iteration(s)`);
          const verify = ctx.opts.quick ? Math.min(10, sz.verify) : sz.verify;
          return runNmf(ctx, { problems: [problem], verifyIters: verify, repeatIters: sz.repeat, lossEvery: 10, label: `${label} k${k}`, notes });
        },
      });
    }
  }
  return out;
}

const batchWorkload: Workload = {
  name: 'batch-grid-16',
  group: 'batch',
  description: 'batched (λ, μ) grid: 16 problems (λ ∈ {0, 0.5, 2, 8} × μ ∈ {0, 0.01, 0.05, 0.2}) sharing one X (64×64×512 EDX cube, k = 3, G, simplex on H) in one solveBatch',
  quick: true,
  full: true,
  async run(ctx) {
    const ds = edxCube(ctx, 64, 64, 512);
    const { problem } = prepareProblem(ds.X, { components: 3, G: ds.G, shape: ds.shape, lambda: 1, mu: 0, simplex: 'h', normalize: true, init: 'random', seed: 0, maxIter: 20, noStop: true, lossEvery: 10 });
    const problems: Problem[] = [];
    for (const lambda of [0, 0.5, 2, 8]) for (const mu of [0, 0.01, 0.05, 0.2]) problems.push({ ...problem, lambda, mu: new Float64Array(3).fill(mu) });
    const iters = ctx.opts.quick ? 4 : 10;
    return runNmf(ctx, {
      problems, verifyIters: iters, repeatIters: ctx.opts.quick ? 2 : 5, lossEvery: 10, cpuSubset: [0, 15], label: '64×64×512 k3 ×16',
      notes: ['rates are problem-iterations per second (16 problems advance per batched iteration)'],
    });
  },
};

/**
 * The issue's batch figure: time per problem of a B = 16 batch ÷ time of one fit of the same size,
 * the two timed alternately (whole solve calls: upload, compile-cache hit, loop, read-back) so
 * that the machine's load hits both alike. Two sizes: the binned cube that autoFit's tuning batches
 * its candidates on (where a single fit leaves the adapter idle between small dispatches), and the
 * full-size ESPM toy (where one fit already fills a software adapter's cores).
 */
function batchRatioWorkload(name: string, description: string, quick: boolean, make: (ctx: Ctx) => Promise<{ problem: Problem; label: string }>): Workload {
  return {
    name,
    group: 'batch',
    description,
    quick,
    full: true,
    async run(ctx) {
      const { problem, label } = await make(ctx);
      const B = 16;
      const lambdas = [0, 0.1, 1, 10];
      const mus = [0, 0.01, 0.1, 1];
      const problems: Problem[] = [];
      for (const lambda of lambdas) for (const mu of mus) problems.push({ ...problem, lambda, mu: new Float64Array(problem.components).fill(mu) });
      const size = { n: problem.X.rows, p: problem.X.cols, k: problem.components, m: problem.G ? problem.G.cols : null, batch: B, elements: problem.X.rows * problem.X.cols, label };
      const out: Awaited<ReturnType<Workload['run']>> = { size, status: 'ok', notes: [] };
      if (!ctx.gpu) throw new SkipError('no WebGPU adapter: the batch ratio is a GPU figure');
      const gpu = ctx.gpu;
      const iters = ctx.opts.quick ? 20 : 50;
      const set = (q: Problem) => withIters(q, iters, 10);
      // warm: pipelines compiled, driver caches filled, for both shapes of the call
      await gpu.solveBatch([set(problems[0])]);
      const warmBatch = await gpu.solveBatch(problems.map(set));
      const repeats = Math.max(ctx.opts.repeats ?? 5, 3);
      const single: number[] = [];
      const batch: number[] = [];
      const ratio: number[] = [];
      for (let r = 0; r < repeats; r++) {
        let t = performance.now();
        await gpu.solveBatch([set(problems[r % B])]);
        const s1 = (performance.now() - t) / 1000;
        t = performance.now();
        await gpu.solveBatch(problems.map(set));
        const sB = (performance.now() - t) / 1000;
        single.push(s1);
        batch.push(sB);
        ratio.push(sB / B / s1);
        await ctx.env.pause?.();
      }
      // the batch must compute what one-by-one fits compute
      const alone = await gpu.solveBatch([set(problems[B - 1])]);
      const la = alone[0].losses.at(-1)!.full;
      const lb = warmBatch[B - 1].losses.at(-1)!.full;
      const rel = Math.abs(la - lb) / Math.abs(la);
      const r = spread(ratio);
      out.gpu = {
        adapter: gpu.adapterInfo,
        iterations: iters,
        repeats,
        singleFitSeconds: spread(single),
        batchSeconds: spread(batch),
        perProblemRatio: r,
        ratioDefinition: `(wall time of one solveBatch of ${B} problems ÷ ${B}) ÷ wall time of one single-problem solve, ${iters} iterations each, timed alternately; target ≤ 1/3`,
        itPerSecond: spread(batch.map((x) => (iters * B) / x)),
        singleItPerSecond: spread(single.map((x) => iters / x)),
      };
      out.notes.push(`per-problem time of the batch ÷ one fit: median ${r.median.toFixed(3)} (${r.min.toFixed(3)}–${r.max.toFixed(3)}); target ≤ 0.333`);
      out.notes.push('rates are problem-iterations per second of the batch; singleItPerSecond beside it');
      const passed = Number.isFinite(rel) && rel <= 1e-4;
      out.verification = { kind: `batched problem ${B - 1}'s final loss vs the same problem solved alone`, passed, detail: { batched: lb, alone: la, relDiff: rel, relTol: 1e-4 } };
      if (!passed) out.status = 'failed';
      return out;
    },
  };
}

const batchTuneWorkload = batchRatioWorkload(
  'batch-tune-16',
  "autoFit's tuning situation: 16 (λ, μ) candidates (λ ∈ {0, 0.1, 1, 10} × μ ∈ {0, 0.01, 0.1, 1}) on a 128×128×512 EDX cube binned 4 × 4 (32×32×512, k = 3, G, simplex on H), one solveBatch vs one fit",
  true,
  async (ctx) => {
    const ds = edxCube(ctx, 128, 128, 512);
    const binned = binCube(ds.X, ds.shape, 4);
    const { problem } = prepareProblem(binned.X, { components: 3, G: ds.G, shape: binned.shape, lambda: 1, mu: 0, simplex: 'h', normalize: true, init: 'random', seed: 0, maxIter: 50, noStop: true, lossEvery: 10 });
    return { problem, label: '32×32×512 k3 ×16 (binned 4×4)' };
  },
);

const batchToyWorkload = batchRatioWorkload(
  'batch-toy-16',
  'the ESPM toy at full size (200 × 100 × 100, k = 3, G, simplex on H, ESPM start): 16 (λ, μ) settings in one solveBatch vs one fit',
  false,
  async (ctx) => {
    const toy = await loadToy(ctx);
    const st = toy?.settings.b_notebook;
    if (!toy || !st) throw new SkipError('ESPM toy fixtures not found');
    const par = st.run.params;
    const s = st.run.norm_factor as number;
    const problem: Problem = {
      X: { rows: toy.X.rows, cols: toy.X.cols, data: toy.X.data.map((v) => v * s) }, G: toy.G, components: 3, loss: 'kl', lambda: par.lambda_L, mu: new Float64Array(3).fill(par.mu),
      epsilonReg: par.epsilon_reg, simplex: 'h', simplexSolver: 'exact', simplexTol: 1e-10, majorizer: 'espm', shape: { rows: par.shape_2d[0], cols: par.shape_2d[1] },
      W0: st.W0, H0: st.H0, maxIter: 50, tol: par.tol, lossEvery: 10, noStop: true, snapshots: [],
    };
    return { problem, label: '200×100×100 k3 ×16' };
  },
);

const nnlsWorkload: Workload = {
  name: 'nnls-512x512x32',
  group: 'nnls',
  description: 'fixed-spectra NNLS (least squares, FISTA with adaptive restart on WebGPU) on a 512×512×32 generated stack, k = 4 known spectra; CPU reference: Lawson–Hanson active set on the first 4096 pixels. Fuller study: bench/modes.ts',
  quick: false,
  full: true,
  async run(ctx) {
    const ds = makeSyntheticDataset({ rows: 512, cols: 512, channels: 32, k: 4, gPeaks: 8, countsPerPixel: 500, seed: 3 });
    const X = ds.X;
    const D = ds.trueD;
    const n = X.rows;
    const p = X.cols;
    const cpuPixels = 4096;
    const sub: Matrix64 = { rows: n, cols: cpuPixels, data: new Float64Array(n * cpuPixels) };
    for (let i = 0; i < n; i++) sub.data.set(X.data.subarray(i * p, i * p + cpuPixels), i * cpuPixels);
    const objective = (H: Matrix64): number => {
      let s = 0;
      for (let j = 0; j < cpuPixels; j++) {
        for (let i = 0; i < n; i++) {
          let y = 0;
          for (let c = 0; c < 4; c++) y += D.data[i * 4 + c] * H.data[c * H.cols + j];
          s += (sub.data[i * cpuPixels + j] - y) ** 2;
        }
      }
      return 0.5 * s;
    };
    const size = { n, p, k: 4, m: null, batch: 1, elements: n * p, label: '512×512×32 k4' };
    const out: Awaited<ReturnType<Workload['run']>> = { size, status: 'ok', notes: ['rates are pixels per second (whole call: upload, set-up, FISTA iterations, read-back), not iterations'] };
    let tc = performance.now();
    const exact = await fitNNLS(sub, { spectra: D, backend: 'cpu', solver: 'active-set' });
    const cpuS = (performance.now() - tc) / 1000;
    const fExact = objective(exact.H);
    out.cpu = { backend: 'cpu (float64, Lawson–Hanson active set)', pixels: cpuPixels, wallSeconds: round(cpuS), pixelsPerSecond: round(cpuPixels / cpuS), itPerSecond: spread([cpuPixels / cpuS]), unit: 'pixels/s' };
    if (ctx.gpu) {
      const { nnlsFistaGpu } = await import('../src/gpu/modes/nnls.js');
      const o = resolveNNLSOptions(X, { spectra: D });
      const device = ctx.gpu.device;
      tc = performance.now();
      const first = await nnlsFistaGpu(X, o.D, o, { device });
      const warm = (performance.now() - tc) / 1000;
      const rates: number[] = [];
      const reps = Math.max(ctx.opts.repeats ?? 5, 1);
      for (let r = 0; r < reps; r++) {
        tc = performance.now();
        await nnlsFistaGpu(X, o.D, o, { device });
        rates.push(p / ((performance.now() - tc) / 1000));
        await ctx.env.pause?.();
      }
      const s = spread(rates);
      const Hs: Matrix64 = { rows: 4, cols: p, data: first.H.data };
      const gap = objective(Hs) / fExact - 1;
      const maxIt = Math.max(...first.chunkIterations);
      out.gpu = {
        adapter: ctx.gpu.adapterInfo,
        warmup: { wallSeconds: round(warm) },
        repeats: reps,
        itPerSecond: s,
        unit: 'pixels/s',
        maxChunkIterations: maxIt,
        converged: first.converged,
        objectiveGapOnSubset: gap,
        bytesModel: 'not modelled (FISTA working set ≈ k² Gram + 3 map buffers per iteration, X once)',
        bytesPerIteration: null,
        effectiveGBps: null,
      };
      out.speedup = round(s.median / (cpuPixels / cpuS));
      const passed = Number.isFinite(gap) && gap <= 1e-3;
      out.verification = { kind: 'objective ½‖X − DH‖² on the CPU subset vs the exact active-set solution', passed, detail: { relGap: gap, relTol: 1e-3, pixels: cpuPixels } };
      if (!passed) out.status = 'failed';
    }
    return out;
  },
};

const autoWorkload: Workload = {
  name: 'auto-toy',
  group: 'auto',
  description: 'autoFit end to end on the ESPM toy problem (bin choice, count-splitting λ/μ tuning as batched fits, binned fit, upsample, fine-tune), k = 3, G',
  quick: false,
  full: true,
  async run(ctx) {
    const toy = await loadToy(ctx);
    if (!toy) throw new SkipError('ESPM toy fixtures not found');
    const size = { n: toy.X.rows, p: toy.X.cols, k: 3, m: toy.G.cols, batch: 1, elements: toy.X.rows * toy.X.cols, label: '200×100×100 k3 auto' };
    const out: Awaited<ReturnType<Workload['run']>> = { size, status: 'ok', notes: ['one end-to-end run per backend (not repeated); quality checked against the true maps (ESPM notebook after 1000 iterations: mean map MSE 0.0377)'] };
    const run = async (backend: Backend | 'cpu') => {
      const t = performance.now();
      const r = await autoFit(toy.X, { components: 3, G: toy.G, shape: toy.shape, backend });
      const wall = (performance.now() - t) / 1000;
      const cmp = compareToTruth({ trueD: toy.trueD, D: r.D, trueH: toy.trueH, H: r.H });
      const iters = (r.stages.tune.iterations ?? 0) + (r.stages.binnedFit.iterations ?? 0) + (r.stages.fineTune.iterations ?? 0);
      return {
        wallSeconds: round(wall),
        stages: Object.fromEntries(Object.entries(r.stages).map(([k2, v]) => [k2, { ...v, seconds: round(v.seconds) }])),
        chosen: { bin: r.bin.b, lambda: r.lambda, mu: r.mu },
        mapMse: cmp.mse.map((v) => round(v)),
        meanMapMse: round(cmp.meanMse),
        finalLoss: r.losses.at(-1)?.full ?? null,
        fineTuneIterations: r.stages.fineTune.iterations ?? null,
        iterationsAllStages: iters,
        itPerSecond: spread([iters / wall]),
        unit: 'pipeline iterations (tuning candidates × iterations + binned + fine-tune) per wall second',
      };
    };
    let passed = true;
    const detail: Record<string, unknown> = { espmNotebook1000MeanMse: 0.0377, tolerance: 1.15 };
    if (ctx.gpu) {
      out.gpu = { adapter: ctx.gpu.adapterInfo, ...(await run(ctx.gpu)) };
      const mse = out.gpu.meanMapMse as number;
      passed &&= mse <= 0.0377 * 1.15;
      detail.gpuMeanMapMse = mse;
    }
    if (!ctx.opts.noCpu && (ctx.opts.autoCpu || !ctx.gpu)) {
      out.cpu = { backend: 'cpu (float64 reference)', ...(await run('cpu')) };
      detail.cpuMeanMapMse = out.cpu.meanMapMse;
      if (out.gpu) {
        const rel = Math.abs((out.gpu.finalLoss as number) - (out.cpu.finalLoss as number)) / Math.abs(out.cpu.finalLoss as number);
        detail.finalLossRelDiff = rel;
        detail.sameChoice = JSON.stringify(out.gpu.chosen) === JSON.stringify(out.cpu.chosen);
        out.speedup = round((out.cpu.wallSeconds as number) / (out.gpu.wallSeconds as number));
      }
    }
    if (!out.cpu) out.notes.push('CPU autoFit not run (pass --auto-cpu / tick "auto on CPU too"): the check is map quality against the truth');
    out.verification = { kind: 'map quality vs the true maps within 15 % of ESPM 1000-iteration MSE (and, when the CPU ran, its choice and loss reported beside)', passed, detail };
    if (!passed) out.status = 'failed';
    return out;
  },
};

class SkipError extends Error {}

export const WORKLOADS: Workload[] = [
  toyWorkload('b_notebook', 'toy-notebook'),
  toyWorkload('a_plain_kl', 'toy-plain-kl'),
  ...edxWorkloads(),
  batchWorkload,
  batchTuneWorkload,
  batchToyWorkload,
  nnlsWorkload,
  autoWorkload,
];

/** Names or prefixes (`edx-64x64x512` selects every k); empty: the quick or the full default set. */
export function selectWorkloads(names: string[], quick: boolean): Workload[] {
  if (names.length === 0) return WORKLOADS.filter((w) => (quick ? w.quick : w.full));
  const sel = WORKLOADS.filter((w) => names.some((nm) => w.name === nm || w.name.startsWith(nm) || w.group === nm));
  const unknown = names.filter((nm) => !WORKLOADS.some((w) => w.name === nm || w.name.startsWith(nm) || w.group === nm));
  if (unknown.length) throw new Error(`unknown workload(s): ${unknown.join(', ')}; known: ${WORKLOADS.map((w) => w.name).join(', ')}`);
  return sel;
}

// ---- the runner ------------------------------------------------------------------------------------
export async function runSuite(env: BenchEnv, opts: BenchOptions, workloads: Workload[], info: { machine: Record<string, unknown>; versions: Record<string, unknown> }): Promise<BenchResult> {
  const t0 = performance.now();
  const trace: Ctx['trace'] = { phases: [] };
  let gpu: WebGPUBackend | null = null;
  const adapter: BenchResult['adapter'] = { available: false, name: null, fallback: null, software: null, features: [], timestampQuery: false, limits: {} };
  try {
    const mod = await import('../src/gpu/index.js');
    gpu = await mod.createWebGPUBackend({ trace: (phase, ms) => trace.phases.push({ phase, ms }) });
    const dev = gpu.device as GPUDevice & { adapterInfo?: GPUAdapterInfo & { isFallbackAdapter?: boolean } };
    adapter.available = true;
    adapter.name = gpu.adapterInfo;
    adapter.fallback = dev.adapterInfo?.isFallbackAdapter ?? /fallback adapter/.test(gpu.adapterInfo);
    adapter.software = /llvmpipe|lavapipe|swiftshader|warp|software/i.test(gpu.adapterInfo) || !!adapter.fallback;
    adapter.features = [...dev.features].map(String).sort();
    adapter.timestampQuery = dev.features.has('timestamp-query');
    const l = dev.limits;
    adapter.limits = { maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxBufferSize: l.maxBufferSize, maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension, maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup };
    env.log(`WebGPU: ${gpu.adapterInfo}`);
  } catch (e) {
    adapter.reason = (e as Error).message;
    env.log(`WebGPU unavailable: ${adapter.reason} (CPU reference only)`);
  }
  const ctx: Ctx = { env, opts, gpu, profiler: null, trace, cache: new Map() };
  const results: WorkloadResult[] = [];
  for (const w of workloads) {
    env.log(`▶ ${w.name}`);
    const t = performance.now();
    let r: WorkloadResult;
    // a fresh engine (own buffer pool and kernel cache) per workload on the shared device: the
    // pool counters are this workload's, and its buffers are freed before the next one
    let wGpu: WebGPUBackend | null = null;
    try {
      if (gpu) {
        const mod = await import('../src/gpu/index.js');
        wGpu = await mod.createWebGPUBackend({ device: gpu.device, trace: (phase, ms) => trace.phases.push({ phase, ms }) });
        ctx.gpu = Object.assign(Object.create(wGpu) as WebGPUBackend, { adapterInfo: gpu.adapterInfo });
        if (adapter.timestampQuery) ctx.profiler = await mod.createWebGPUBackend({ device: gpu.device, profileKernels: true });
      }
      const body = await w.run(ctx);
      r = { name: w.name, group: w.group, description: w.description, ...body, peakProcessMemoryBytes: env.peakMemoryBytes() ?? env.memoryBytes(), wallSeconds: round((performance.now() - t) / 1000) };
    } catch (e) {
      const skip = e instanceof SkipError;
      r = {
        name: w.name, group: w.group, description: w.description, size: { n: 0, p: 0, k: 0, m: null, batch: 0, elements: 0, label: '' },
        status: skip ? 'skipped' : 'failed', error: (e as Error).message, notes: [], peakProcessMemoryBytes: env.peakMemoryBytes(), wallSeconds: round((performance.now() - t) / 1000),
      };
    }
    wGpu?.dispose();
    ctx.profiler?.dispose();
    ctx.profiler = null;
    results.push(r);
    const unit = ((r.gpu?.unit ?? r.cpu?.unit) as string | undefined)?.startsWith('pixels') ? 'pixels/s' : 'it/s';
    env.log(`  ${r.status}${r.error ? `: ${r.error}` : ''}; GPU ${fmtRate(r.gpu?.itPerSecond, unit)} · CPU ${fmtRate(r.cpu?.itPerSecond, unit)}${r.verification ? ` · verified ${r.verification.passed}` : ''} (${r.wallSeconds} s)`);
    await env.pause?.();
  }
  gpu?.dispose();
  const missing = [
    ...(adapter.timestampQuery
      ? []
      : ['per-kernel GPU time: the adapter offers no timestamp-query; only per-phase wall times from the engine trace hook are reported']),
    'bytes per iteration are modelled (lower bound), not counted by hardware counters',
    ...(env.platform === 'browser' ? ['peak process memory: browsers expose none (performance.memory, Chrome only, is the JS heap)'] : []),
  ];
  return {
    suite: 'webnmf-gpu-bench',
    suiteVersion: SUITE_VERSION,
    date: new Date().toISOString(),
    quick: opts.quick,
    platform: env.platform,
    machine: info.machine,
    versions: info.versions,
    adapter,
    options: { peakGbps: opts.peakGbps ?? null, repeats: opts.repeats ?? null, workloads: workloads.map((w) => w.name) },
    recordedPeers: RECORDED_PEERS,
    missing,
    workloads: results,
    allVerified: results.every((r) => r.status !== 'failed' && (r.verification?.passed ?? true)),
    verifiedCount: results.filter((r) => r.verification?.passed).length,
    failed: results.filter((r) => r.status === 'failed' || r.verification?.passed === false).map((r) => r.name),
    unverified: results.filter((r) => r.status !== 'failed' && !r.verification).map((r) => r.name),
    totalSeconds: round((performance.now() - t0) / 1000),
  };
}

export function fmtRate(s: Spread | undefined, unit = 'it/s'): string {
  if (!s) return '–';
  return `${s.median.toPrecision(3)} ${unit} [${s.min.toPrecision(3)}–${s.max.toPrecision(3)}]`;
}
