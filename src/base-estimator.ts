/**
 * What every estimator shares (SmoothNMF, NMF, SeededNMF, NNLS, PCA), shaped like scikit-learn's:
 * options fixed at construction, `fit(X, extra)` merging per-call overrides, the learned result,
 * and `dispose()`. Subclasses give `run` (their functional twin) and the learned fields.
 */
import { WebnmfError } from './errors.js';
import type { Matrix } from './types.js';

export abstract class Estimator<O extends object, R> {
  readonly options: Readonly<O>;
  private result: R | undefined;
  private disposed = false;

  /** `kind` names the estimator in messages (class names do not survive minification). */
  constructor(options: O, private readonly kind: string) {
    this.options = { ...options };
  }

  /** The functional twin: fits X with the merged options. */
  protected abstract run(X: Matrix, options: O): Promise<R>;

  /** Fits the model to X (channels × pixels); `extra` overrides options for this call only. */
  async fit(X: Matrix, extra: Partial<O> = {}): Promise<this> {
    this.assertAlive();
    this.result = await this.run(X, { ...this.options, ...extra });
    return this;
  }

  protected assertAlive(): void {
    if (this.disposed) throw new WebnmfError('usage', `this ${this.kind} was disposed; create a new one`);
  }

  protected get fitted(): R {
    if (!this.result) throw new WebnmfError('usage', 'the model is not fitted yet: call fit(X) first');
    return this.result;
  }

  /** The full result of the last fit. */
  get fitResult(): R {
    return this.fitted;
  }

  /** Frees what the model holds (GPU resources are released after each fit already). */
  dispose(): void {
    this.result = undefined;
    this.disposed = true;
  }
}
