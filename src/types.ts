/**
 * The shared vocabulary of webnmf: dense matrices, model options, the solver contract that the
 * CPU reference and the WebGPU engine both implement, and what a fit returns.
 *
 * Conventions (ESPM's): X is channels × pixels (n × p), G is n × m, W is m × k, H is k × p,
 * D = G W is n × k. Every matrix is dense and row-major: element (i, j) is `data[i * cols + j]`.
 * Pixel index p = r * cols + c for an image of shape { rows, cols }.
 */

/** A dense row-major matrix. */
export interface Matrix<T extends Float64Array | Float32Array = Float64Array | Float32Array> {
  readonly rows: number;
  readonly cols: number;
  readonly data: T;
}

/** A float64 matrix: what the CPU reference computes with and what results are returned as. */
export type Matrix64 = Matrix<Float64Array>;

/** An image size. Named fields, never a bare tuple. */
export interface ImageShape {
  readonly rows: number;
  readonly cols: number;
}

export type SimplexMode = 'h' | 'w' | 'none';
export type InitMethod = 'random' | 'nndsvd' | 'nndsvda' | 'nndsvdar' | 'custom';
export type LossKind = 'kl' | 'frobenius';
/**
 * How the simplex multiplier ν is found.
 * - `exact`: every pixel (or column) solved on its own to `simplexTol` (safeguarded Newton).
 * - `espm`: ESPM's lock-step bisection over all pixels, stopped when max |f| ≤ 1e-5
 *   (bit-for-bit conformance with ESPM 1.1.3).
 */
export type SimplexSolver = 'exact' | 'espm';
/**
 * How the H step bounds the Laplacian term (λ/2) tr(H L Hᵀ) (an MM majoriser; both keep every
 * step monotone and have the same fixed points, so they converge to the same kind of solution).
 * - `espm`: ESPM's bound, λσ·max_p H_kp added to numerator and denominator: ESPM's iterates.
 * - `tight`: the per-pixel bound (λ/2)·deg_p·H_kp² − λ·H̃_kp(Adj H̃)_kp·log H_kp, minimised in
 *   closed form (a quadratic per entry). Much less damping: 2–7× fewer iterations to the same
 *   loss on smooth maps. Identical to `espm` when λ = 0.
 */
export type Majorizer = 'espm' | 'tight';
export type BackendName = 'cpu' | 'webgpu' | 'auto';

export type StopReason =
  | 'max_iter' // reached maxIter
  | 'converged_rel_change' // max relative change of W and H < tol
  | 'converged_loss' // relative loss change between two samples < tol
  | 'nan' // the loss became NaN: the last good sampled iterate is returned
  | 'loss_increase'; // the sampled loss increased

/** One sampled evaluation of the objective, averaged over the n·p elements as ESPM reports it. */
export interface LossSample {
  /** Iterations completed when the sample was taken (0 = the start). */
  readonly iteration: number;
  /** full = kl + logReg + laplacian (Frobenius fits: full = kl = ½‖X − DH‖² / (n p)). */
  readonly full: number;
  readonly kl: number;
  readonly logReg: number;
  readonly laplacian: number;
  /** ESPM's relative change of W and H over the last iteration (NaN at iteration 0). */
  readonly relW: number;
  readonly relH: number;
}

export interface Progress {
  readonly iteration: number;
  readonly maxIter: number;
  /** The latest sampled loss (full). */
  readonly loss: number;
  /** Iterations per second since the start of the loop. */
  readonly rate: number;
}

/**
 * A fully prepared problem: validated, normalised and initialised. Both backends solve exactly
 * this; everything before (validation, normalisation, init) and after (rescaling, D = GW) is
 * shared code in the estimator.
 */
export interface Problem {
  /** Data in the (possibly normalised) space the solver works in, n × p, all values ≥ 0. */
  readonly X: Matrix;
  /** Known matrix n × m; absent means D = W (m = n). */
  readonly G?: Matrix64;
  readonly components: number;
  readonly loss: LossKind;
  readonly lambda: number;
  /** μ per component (length k; all zeros when off). */
  readonly mu: Float64Array;
  readonly epsilonReg: number;
  readonly simplex: SimplexMode;
  readonly simplexSolver: SimplexSolver;
  /** Tolerance of the exact per-pixel simplex solve on |Σ_k H_kp − 1|. */
  readonly simplexTol: number;
  /** The H step's bound of the Laplacian term (only matters when λ > 0). */
  readonly majorizer: Majorizer;
  /**
   * β of the extrapolated iterates (absent or 0: plain multiplicative updates, ESPM's iterates).
   * See `SmoothNMFOptions.extrapolation`.
   */
  readonly extrapolation?: number;
  /** Image shape; required when lambda > 0. */
  readonly shape?: ImageShape;
  /** Starting point (m × k and k × p), already clamped at ε. */
  readonly W0: Matrix64;
  readonly H0: Matrix64;
  readonly maxIter: number;
  readonly tol: number;
  /** Sample the loss (and test the stopping rules) every this many iterations. */
  readonly lossEvery: number;
  /** Run exactly maxIter iterations (still sampling the loss for the history). */
  readonly noStop: boolean;
  /** Iterations after which the raw iterates are kept (1-based). */
  readonly snapshots: readonly number[];
}

export interface SolveHooks {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: Progress) => void;
}

/** What a backend returns: raw iterates in the solver's space. */
export interface SolveResult {
  readonly W: Matrix64;
  readonly H: Matrix64;
  readonly losses: LossSample[];
  readonly nIter: number;
  readonly stopReason: StopReason;
  readonly snapshots: Map<number, { W: Matrix64; H: Matrix64 }>;
  /** Which backend and device ran it, e.g. "cpu (float64 reference)" or "webgpu: llvmpipe …". */
  readonly backendInfo: string;
}

/** A backend: the CPU reference or the WebGPU engine. */
export interface Backend {
  readonly name: 'cpu' | 'webgpu';
  /** WebGPU: whether the adapter is a software one (lavapipe, SwiftShader, WARP); absent on the CPU. */
  readonly software?: boolean;
  solve(problem: Problem, hooks?: SolveHooks): Promise<SolveResult>;
  /**
   * Solves several problems that share X (they may differ in λ, μ, ε_reg, tol, starts and
   * iteration counts). The WebGPU engine advances them together in the same dispatches; the CPU
   * reference runs them one after the other. Results come back in the order given.
   */
  solveBatch(problems: readonly Problem[], hooks?: SolveHooks): Promise<SolveResult[]>;
  dispose(): void;
}

/** ε, ESPM's `log_shift`: the floor of W and H. */
export const EPSILON = 1e-14;
/** σ, ESPM's majoriser of the Laplacian's largest eigenvalue (4-neighbour stencil). */
export const SIGMA_L = 8;
/** ESPM's bisection criterion on max_p |f_p(ν)|. */
export const ESPM_DICHOTOMY_TOL = 1e-5;
/** ESPM's cap on bisection rounds. */
export const ESPM_DICHOTOMY_MAXIT = 100;
