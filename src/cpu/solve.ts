/**
 * The float64 reference fit loop: the oracle that every GPU test compares against.
 */
import { WebnmfError } from '../errors.js';
import { StopRule, sampleDue } from '../problem/stopping.js';
import type { Backend, LossSample, Matrix, Matrix64, Problem, SolveHooks, SolveResult } from '../types.js';
import { computeD, extrapolate, hStep, klConstant, lossParts, relativeChange, wStep } from './steps.js';

const copy = (A: Matrix64): Matrix64 => ({ rows: A.rows, cols: A.cols, data: A.data.slice() });

export const toFloat64 = (A: Matrix): Matrix64 =>
  A.data instanceof Float64Array ? (A as Matrix64) : { rows: A.rows, cols: A.cols, data: Float64Array.from(A.data) };

/** Yield to the event loop so that abort signals and timers are seen (setTimeout works everywhere). */
const yieldNow = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export function abortError(signal: AbortSignal, details?: Record<string, unknown>): WebnmfError {
  const why = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
  const err = new WebnmfError('runtime', `fit aborted${why}`, details);
  err.name = 'AbortError';
  return err;
}

export async function solveCpu(problem: Problem, hooks: SolveHooks = {}): Promise<SolveResult> {
  const X = toFloat64(problem.X);
  const G = problem.G;
  let W = copy(problem.W0);
  let H = copy(problem.H0);
  const klConst = problem.loss === 'kl' ? klConstant(X) : 0;
  const rule = new StopRule(problem);
  const losses: LossSample[] = [];
  const snapshots = new Map<number, { W: Matrix64; H: Matrix64 }>();
  const wanted = new Set(problem.snapshots);
  const t0 = performance.now();
  let lastYield = t0;
  let good = { W: copy(W), H: copy(H) };

  const sample = (iteration: number, Wold: Matrix64 | null, Hold: Matrix64 | null): LossSample => {
    const parts = lossParts(X, computeD(W, G), H, problem, klConst);
    const s: LossSample = {
      iteration,
      ...parts,
      relW: Wold ? relativeChange(W, Wold, problem.tol) : NaN,
      relH: Hold ? relativeChange(H, Hold, problem.tol) : NaN,
    };
    losses.push(s);
    return s;
  };

  let reason = rule.check(sample(0, null, null));
  let it = 0;
  // Extrapolation (β > 0): W, H hold the next step's start; Wp, Hp the last plain iterates.
  const beta = problem.extrapolation ?? 0;
  let Wp = W;
  let Hp = H;
  while (reason === null) {
    if (hooks.signal?.aborted) throw abortError(hooks.signal, { W, H, iteration: it });
    const due = sampleDue(it + 1, problem.lossEvery, problem.maxIter);
    const Wold = due ? W : null;
    const Hold = due ? H : null;
    H = hStep(X, computeD(W, G), H, problem);
    W = wStep(X, G, W, H, problem);
    it++;
    // Sampled and snapshot iterations stay plain (as on the GPU): every reported iterate is an update's.
    if (beta > 0) {
      const plain = { W, H };
      if (!due && !wanted.has(it)) {
        H = extrapolate(plain.H, Hp, beta, problem.simplex === 'h');
        W = extrapolate(plain.W, Wp, beta, false);
      }
      Wp = plain.W;
      Hp = plain.H;
    }
    if (wanted.has(it)) snapshots.set(it, { W: copy(W), H: copy(H) });
    if (due) {
      const s = sample(it, Wold, Hold);
      reason = rule.check(s);
      if (reason === 'nan') {
        W = good.W;
        H = good.H;
        break;
      }
      good = { W, H };
      const elapsed = (performance.now() - t0) / 1000;
      hooks.onProgress?.({ iteration: it, maxIter: problem.maxIter, loss: s.full, rate: it / Math.max(elapsed, 1e-9) });
    }
    if (performance.now() - lastYield > 50) {
      await yieldNow();
      lastYield = performance.now();
    }
  }
  return {
    W,
    H,
    losses,
    nIter: it,
    stopReason: reason ?? 'max_iter',
    snapshots,
    backendInfo: 'cpu (float64 reference)',
  };
}

export const cpuBackend: Backend = {
  name: 'cpu',
  solve: solveCpu,
  async solveBatch(problems, hooks) {
    const out: SolveResult[] = [];
    for (const p of problems) out.push(await solveCpu(p, hooks));
    return out;
  },
  dispose() {},
};
