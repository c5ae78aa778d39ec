/**
 * autoFit end to end on small synthetic data with ground truth (CPU backend), its error paths,
 * and the `webnmf auto` command. Quality and speed figures on larger data: bench/auto-evidence.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { autoFit, DEFAULT_START_BIN, defaultStartBin } from '../../src/auto/index.js';
import { cpuBackend } from '../../src/cpu/solve.js';
import { main } from '../../src/cli/main.js';
import { fitSmoothNMF } from '../../src/estimator.js';
import { encodeNpy } from '../../src/io/npy.js';
import { compareToTruth } from '../../src/metrics.js';
import { makeSyntheticDataset } from '../../src/synth.js';
import type { Backend, Problem, SolveResult } from '../../src/types.js';

const ds = makeSyntheticDataset({ rows: 32, cols: 32, channels: 48, countsPerPixel: 150, seed: 5, gPeaks: 8 });
const mse = (r: { D: any; H: any }) => compareToTruth({ trueD: ds.trueD, D: r.D, trueH: ds.trueH, H: r.H }).meanMse;

describe('autoFit', () => {
  test('bins, tunes in batches, upsamples and fine-tunes; better maps than plain KL NMF; full report', async () => {
    const batches: number[] = [];
    const batchMajorizers = new Set<string>();
    const solveMajorizers: string[] = [];
    const spy: Backend = {
      name: 'cpu',
      solve: (p, h) => {
        solveMajorizers.push(p.majorizer);
        return (globalThis as any).__cpu.solve(p, h);
      },
      solveBatch: async (ps, h) => {
        batches.push(ps.length);
        for (const q of ps) expect(q.X).toBe(ps[0].X);
        for (const q of ps) batchMajorizers.add(q.majorizer);
        return (globalThis as any).__cpu.solveBatch(ps, h);
      },
      dispose() {},
    };
    (globalThis as any).__cpu = (await import('../../src/cpu/solve.js')).cpuBackend;
    const r = await autoFit(ds.X, { components: 3, G: ds.G, shape: ds.shape, backend: spy, tuneMaxIter: 60, warmIter: 30 });
    expect(r.bin.b).toBeGreaterThanOrEqual(2);
    expect(r.bin.reason).toBe('auto');
    // 18-point grid (6 λ × 3 μ) and refinement: one batch per fold (2 folds), the grid in one batch each.
    expect(batches[0]).toBe(18);
    expect(batches[1]).toBe(18);
    expect(r.stages.tune.batches).toBe(batches.length);
    expect(r.validation.length).toBe(r.stages.tune.candidates);
    for (const c of r.validation) {
      expect(c.foldScores).toHaveLength(2);
      expect(c.lambdaFull).toBeCloseTo(c.lambdaBinned * r.bin.b ** 2.5, 12);
    }
    // The one-standard-error rule: the chosen candidate is at least as regularised as the best
    // (larger μ, or the same μ and λ ≥), and its score is the best's or close to it.
    const best = r.validation.reduce((a, c) => (c.score < a.score ? c : a));
    const chosen = r.validation.find((c) => c.lambdaBinned === r.lambdaBinned && c.mu === r.mu)!;
    expect(chosen).toBeDefined();
    expect(r.mu > best.mu || (r.mu === best.mu && r.lambdaBinned >= best.lambdaBinned)).toBe(true);
    expect(chosen.score).toBeLessThan(best.score * 1.05);
    expect(r.lambda).toBeCloseTo(r.lambdaBinned * r.bin.b ** 2.5, 12);
    expect(r.stages.fineTune.iterations).toBeGreaterThan(0);
    expect(r.stages.binnedFit.iterations).toBeGreaterThan(0);
    // The binned fit samples its loss every 5 iterations (DEFAULT_BINNED_LOSS_EVERY), the fine-tune every 10.
    expect(r.binnedLosses.slice(0, 3).map((l) => l.iteration)).toEqual([0, 5, 10]);
    expect(r.losses.slice(0, 3).map((l) => l.iteration)).toEqual([0, 10, 20]);
    // Tuning (warm starts and candidates) with ESPM's step, the binned fit and the fine-tune with
    // the tight one by default.
    expect([...batchMajorizers]).toEqual(['espm']);
    expect(solveMajorizers.slice(-2)).toEqual(['tight', 'tight']);
    expect(solveMajorizers.slice(0, -2).every((m) => m === 'espm')).toBe(true);
    expect(r.majorizer).toBe('tight');
    for (let j = 0; j < ds.X.cols; j++) expect(r.H.data[j] + r.H.data[ds.X.cols + j] + r.H.data[2 * ds.X.cols + j]).toBeCloseTo(1, 5);
    const plain = await fitSmoothNMF(ds.X, { components: 3, normalize: true, maxIter: 1000, tol: 1e-6, backend: 'cpu' });
    expect(mse(r)).toBeLessThan(mse(plain));
  });

  test("weightRule 'best' takes the lowest held-out score; 'one-se' the most regularised within one SE", async () => {
    const o = { components: 3, G: ds.G, shape: ds.shape, backend: 'cpu' as const, tuneMaxIter: 40, warmIter: 20, lambdas: [0, 1, 10], mus: [0, 1], refine: false, skipFineTune: true };
    const b = await autoFit(ds.X, { ...o, weightRule: 'best' });
    const lowest = b.validation.reduce((a, c) => (c.score < a.score ? c : a));
    expect([b.lambdaBinned, b.mu]).toEqual([lowest.lambdaBinned, lowest.mu]);
    const s1 = await autoFit(ds.X, { ...o, weightRule: 'one-se' });
    expect(s1.validation.map((c) => c.score)).toEqual(b.validation.map((c) => c.score)); // same fits
    expect(s1.mu > b.mu || (s1.mu === b.mu && s1.lambdaBinned >= b.lambdaBinned)).toBe(true);
    await expect(autoFit(ds.X, { ...o, weightRule: 'lowest' as never })).rejects.toThrow(/weightRule must be/);
  });

  test('k beyond what the data allows, an empty grid, no finite score: clear errors', async () => {
    await expect(autoFit(ds.X, { components: [3, 9], G: ds.G, shape: ds.shape, backend: 'cpu' })).rejects.toThrow(
      /components 9 exceed what the data allows: at most .*G columns 8/,
    );
    await expect(autoFit(ds.X, { components: 3, shape: ds.shape, lambdas: [], backend: 'cpu' })).rejects.toThrow(/grid is empty/);
    await expect(autoFit(ds.X, { components: 3, shape: ds.shape, binnedLossEvery: 0, backend: 'cpu' })).rejects.toThrow(/binnedLossEvery must be a positive integer, got 0/);
    const nanBackend: Backend = {
      name: 'cpu',
      solve: async () => {
        throw new Error('unused');
      },
      solveBatch: async (ps) =>
        ps.map(
          (p): SolveResult => ({
            W: { ...p.W0, data: p.W0.data.map(() => NaN) },
            H: p.H0,
            losses: [],
            nIter: 1,
            stopReason: 'nan',
            snapshots: new Map(),
            backendInfo: 'fake',
          }),
        ),
      dispose() {},
    };
    await expect(
      autoFit(ds.X, { components: 3, G: ds.G, shape: ds.shape, backend: nanBackend, warmIter: 0, lambdas: [0, 1], mus: [0] }),
    ).rejects.toThrow(/no candidate of the λ × μ grid \(2 × 1, k = 3\) gave a finite held-out score/);
  });

  test('tuning budget: 100 iterations (warm start 50) for one k, 300 (warm start 100) when choosing k', async () => {
    const seen: { batch: number[]; single: number[] } = { batch: [], single: [] };
    const echo = (p: Problem): SolveResult => ({
      W: p.W0,
      H: p.H0,
      losses: [],
      nIter: p.maxIter,
      stopReason: 'max_iter',
      snapshots: new Map(),
      backendInfo: 'echo',
    });
    const fake: Backend = {
      name: 'cpu',
      solve: async (p) => (seen.single.push(p.maxIter), echo(p)),
      solveBatch: async (ps) => (seen.batch.push(...ps.map((p) => p.maxIter)), ps.map(echo)),
      dispose() {},
    };
    const run = async (components: number | number[]) => {
      seen.batch = [];
      seen.single = [];
      await autoFit(ds.X, { components, G: ds.G, shape: ds.shape, backend: fake, lambdas: [0, 1], mus: [0], refine: false, maxIter: 5 });
      return { batch: [...new Set(seen.batch)], warm: seen.single.slice(0, 2) };
    };
    expect(await run(3)).toEqual({ batch: [100], warm: [50, 50] });
    expect(await run([2, 3])).toEqual({ batch: [300], warm: [100, 100] });
  });

  test('an image too small to bin runs at b = 1 and says so', async () => {
    const small = makeSyntheticDataset({ rows: 12, cols: 12, channels: 24, countsPerPixel: 200, seed: 2, gPeaks: 6 });
    const warnings: string[] = [];
    const r = await autoFit(small.X, {
      components: 2,
      G: small.G,
      shape: small.shape,
      backend: 'cpu',
      lambdas: [0, 1],
      mus: [0],
      refine: false,
      tuneMaxIter: 20,
      warmIter: 10,
      maxIter: 50,
      onWarning: (m) => warnings.push(m),
    });
    expect(r.bin.b).toBe(1);
    expect(r.bin.reason).toBe('too-small');
    expect(warnings.join('\n')).toMatch(/too small to bin/);
    expect(r.stages.binnedFit.iterations).toBe(0);
    expect(r.startBin).toBe(1); // 12 px: a 2 × 2 start would leave 6 a side
  });

  test('where the tuning keeps full resolution, the fine-tune starts from a 2 × 2-binned coarse start (startBin)', async () => {
    const o = { components: 3, G: ds.G, shape: ds.shape, backend: 'cpu' as const, bin: 1, lambdas: [1], mus: [0.1], refine: false, tuneMaxIter: 10, warmIter: 5, maxIter: 300 };
    const coarse = await autoFit(ds.X, o);
    expect(coarse.bin.b).toBe(1);
    expect(coarse.startBin).toBe(2);
    expect(coarse.stages.binnedFit.iterations).toBe(1);
    const plain = await autoFit(ds.X, { ...o, startBin: 1 });
    expect(plain.startBin).toBe(1);
    expect(plain.stages.binnedFit.iterations).toBe(0);
    // the same weights and, from either start, the same optimum to the fine-tune's tolerance
    expect(coarse.lambda).toBe(plain.lambda);
    const last = (r: typeof coarse) => r.losses[r.losses.length - 1].full;
    expect(Math.abs(last(coarse) - last(plain)) / Math.abs(last(plain))).toBeLessThan(1e-3);
    // the start is nearer that optimum than the whole cube's nndsvda start
    expect(coarse.losses[0].full).toBeLessThan(plain.losses[0].full);
    expect(mse(coarse)).toBeLessThan(1.2 * mse(plain));
    await expect(autoFit(ds.X, { ...o, startBin: 0 })).rejects.toThrow(/startBin must be a positive integer, got 0/);
  });

  test('the coarse start is on by default where iterations are dear (CPU, software WebGPU) and off on GPUs', () => {
    const gpu = (software: boolean) => ({ ...cpuBackend, name: 'webgpu' as const, software });
    expect(DEFAULT_START_BIN).toBe(2);
    expect(defaultStartBin(cpuBackend)).toBe(DEFAULT_START_BIN);
    expect(defaultStartBin(gpu(true))).toBe(DEFAULT_START_BIN);
    expect(defaultStartBin(gpu(false))).toBe(1);
  });
});

describe('webnmf auto', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webnmf-auto-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const sink = () => {
    let text = '';
    return { write: (s: string) => ((text += s), true), get text() { return text; } };
  };

  test('writes W, H, D and a report with the validation curve; bad k exits 2 with a hint', async () => {
    writeFileSync(join(dir, 'X.npy'), encodeNpy({ shape: [ds.X.rows, ds.X.cols], data: ds.X.data }, { dtype: 'float64' }));
    writeFileSync(join(dir, 'G.npy'), encodeNpy({ shape: [ds.G.rows, ds.G.cols], data: ds.G.data }, { dtype: 'float64' }));
    const out = join(dir, 'out');
    const stdout = sink();
    const stderr = sink();
    const code = await main(
      ['auto', join(dir, 'X.npy'), '--components', '3', '--g', join(dir, 'G.npy'), '--shape', '32x32', '--backend', 'cpu', '--bin', '2',
        '--lambdas', '0,1', '--mus', '0,0.1', '--tune-iter', '30', '--max-iter', '100', '--out', out],
      { stdout, stderr, signal: new AbortController().signal },
    );
    expect(code, stderr.text).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.chosen.bin).toBe(2);
    expect(report.chosen.startBin).toBe(2); // the tuning's bin (the coarse start is for b = 1)
    expect(report.bin.reason).toBe('given');
    expect(report.validation.length).toBeGreaterThanOrEqual(4);
    expect(report.chosen.lambda).toBeCloseTo(2 ** 2.5 * report.chosen.lambdaBinned, 12);
    // the stated rule is the one applied (it said b^2 while λ was scaled by b^2.5)
    expect(report.rules.rescale).toMatch(/^lambda_full = b\^2\.5 \* lambda_binned; mu_full = mu_binned /);
    for (const s of ['bin', 'tune', 'binnedFit', 'upsample', 'fineTune', 'total']) expect(report.stages[s].seconds).toBeGreaterThanOrEqual(0);
    expect(readFileSync(join(out, 'H.npy')).length).toBeGreaterThan(3 * 1024 * 8);
    expect(stdout.text).toMatch(/webnmf auto: bin 2, k = 3/);

    const err = sink();
    const bad = await main(['auto', join(dir, 'X.npy'), '--components', '60', '--shape', '32x32', '--backend', 'cpu', '--out', join(dir, 'o2')], {
      stdout: sink(),
      stderr: err,
      signal: new AbortController().signal,
    });
    expect(bad).toBe(2);
    expect(err.text).toMatch(/components 60 exceed what the data allows/);
    expect(err.text).toMatch(/webnmf auto --help/);
    const help = sink();
    expect(await main(['auto', '--help'], { stdout: help, stderr: sink(), signal: new AbortController().signal })).toBe(0);
    expect(help.text).toMatch(/--lambdas/);
    expect(help.text).toMatch(/--start-bin/);
    const e3 = sink();
    expect(await main(['auto', join(dir, 'X.npy'), '--components', '3', '--shape', '32x32', '--start-bin', '0', '--out', join(dir, 'o3')], { stdout: sink(), stderr: e3, signal: new AbortController().signal })).toBe(2);
    expect(e3.text).toMatch(/--start-bin/);
  });
});
