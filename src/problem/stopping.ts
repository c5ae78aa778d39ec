import type { LossSample, StopReason } from '../types.js';

/**
 * The stopping rule shared by every backend. It sees only the sampled losses: a backend samples
 * the loss (and ESPM's relative changes of W and H over the last iteration) at iteration 0, every
 * `lossEvery` iterations and at the last iteration, and asks `check` after each sample.
 *
 * At a sample at iteration t > 0, in ESPM's order:
 *  1. t ≥ maxIter                                      → 'max_iter'
 *  2. max(relW, relH) < tol                            → 'converged_rel_change'
 *  3. |F_prev − F_t| / (Δt · |F_0|) < tol              → 'converged_loss'
 *     (Δt = iterations since the previous sample: the mean relative change per iteration,
 *      which is ESPM's per-iteration |ΔF| / F_init rule when lossEvery = 1)
 *  4. F_t is NaN                                       → 'nan' (the backend returns the last good sample's iterate)
 *  5. F_t > F_prev                                     → 'loss_increase'
 * With `noStop` only rule 1 applies (and NaN, which ends any fit).
 *
 * How this differs from ESPM: ESPM evaluates the loss and rules 2–5 after every iteration;
 * here they are evaluated every `lossEvery` iterations, so a fit can run up to lossEvery − 1
 * iterations past the point where ESPM would stop. scikit-learn's NMF instead tests
 * (F_prev − F) / F_0 < tol every 10 iterations and has no rel-change or increase rule.
 */
/**
 * How near rule 3 makes a fit "about to stop": its last mean relative change per iteration within
 * this factor of tol. The WebGPU loop then waits for each sample instead of encoding up to three
 * samples' worth of iterations ahead, which a stopping fit would throw away.
 */
export const IMMINENT_FACTOR = 100;

export class StopRule {
  private first: LossSample | undefined;
  private prev: LossSample | undefined;
  private lastRate = Infinity;

  constructor(private readonly opts: { maxIter: number; tol: number; noStop: boolean }) {}

  /** Rule 3 may well fire at one of the next samples (IMMINENT_FACTOR); never with noStop. */
  imminent(): boolean {
    return !this.opts.noStop && this.lastRate < IMMINENT_FACTOR * this.opts.tol;
  }

  check(s: LossSample): StopReason | null {
    const { first, prev } = this;
    if (!first) {
      this.first = s;
      this.prev = s;
      return Number.isNaN(s.full) ? 'nan' : null;
    }
    this.prev = s;
    if (Number.isNaN(s.full)) return 'nan';
    if (s.iteration >= this.opts.maxIter) return 'max_iter';
    if (this.opts.noStop || !prev) return null;
    const { tol } = this.opts;
    if (Math.max(s.relW, s.relH) < tol) return 'converged_rel_change';
    const dt = s.iteration - prev.iteration;
    this.lastRate = Math.abs(prev.full - s.full) / (dt * Math.abs(first.full));
    if (this.lastRate < tol) return 'converged_loss';
    if (s.full > prev.full) return 'loss_increase';
    return null;
  }
}

/** Whether a loss sample is due after `iteration` completed iterations. */
export const sampleDue = (iteration: number, lossEvery: number, maxIter: number): boolean =>
  iteration % lossEvery === 0 || iteration === maxIter;
