import type {
  Backend,
  BackendName,
  ImageShape,
  InitMethod,
  LossKind,
  LossSample,
  Majorizer,
  Matrix,
  Matrix64,
  Progress,
  SimplexMode,
  SimplexSolver,
  StopReason,
} from './types.js';

/** The options of SmoothNMF (and of the functional twin `fitSmoothNMF`). */
export interface SmoothNMFOptions {
  /** k, the number of components (1 ≤ k ≤ min(channels, pixels)). */
  components: number;
  /** Laplacian smoothness weight λ (the objective carries λ/2, as ESPM's code does). Default 0. */
  lambda?: number;
  /** Log-sparsity weight μ, scalar or one per component. Default 0. */
  mu?: number | readonly number[];
  /** ε_reg, the slope of the log penalty at 0. Default 1. */
  epsilonReg?: number;
  /** Simplex constraint: on H (Σ_k H_kp = 1 per pixel), on W (Σ_j W_jk = 1 per column) or none. Default 'none'. */
  simplex?: SimplexMode;
  /** Simplex multiplier solver. Default 'exact'. */
  simplexSolver?: SimplexSolver;
  /** Tolerance of the exact simplex solve. Default 1e-10. */
  simplexTol?: number;
  /**
   * How the H step bounds the Laplacian term: 'espm' (ESPM's iterates) or 'tight' (same objective
   * and fixed points, far fewer iterations when λ > 0). Default 'espm'; `autoFit` uses 'tight'.
   */
  majorizer?: Majorizer;
  /**
   * Extrapolation β (0 ≤ β < 1; default 0, ESPM's iterates). With β > 0 each iteration starts from
   * the extrapolated pair W ∘ (W / W_prev)^β, H ∘ (H / H_prev)^β of the last two plain iterates
   * (each ratio clamped to [1/4, 4], floored at ε, H's pixels rescaled to sum 1 under simplex 'h'):
   * Ang & Gillis's extrapolation ("Accelerating nonnegative matrix factorization algorithms using
   * extrapolation", Neural Computation 31, 2019) taken along log W, log H, so that no entry drops to
   * the floor in one step (the linear form stalled there from a scratch start).
   * The fixed points are those of the plain updates; the iterations where the loss is sampled or a
   * snapshot is taken are plain, so every reported iterate and loss is a plain update's, and the
   * stopping rules (loss increase included) apply unchanged. 0.7 roughly halves the iterations from
   * a good start (`autoFit`'s fine-tune, which uses it: bench/results/2026-11-26-extrapolation.md).
   * Not with simplex 'w', nor with majorizer 'espm' where λ > 0 (ESPM's Laplacian bound is taken at
   * the iterate's row maxima; use majorizer 'tight').
   */
  extrapolation?: number;
  /** Known matrix G (channels × m). Absent: D = W. */
  G?: Matrix;
  /** Image shape of the pixels (rows × cols = pixels); required when lambda > 0. */
  shape?: ImageShape;
  /** Loss: generalised KL (Poisson) or Frobenius. Default 'kl'. Frobenius takes G but no λ, μ or simplex. */
  loss?: LossKind;
  /** Initialisation. Default: 'custom' when W0 and H0 are given, else 'nndsvda'. */
  init?: InitMethod;
  /** Custom start, m × k (in the normalised space when normalize is on, as in ESPM). */
  W0?: Matrix;
  /** Custom start, k × pixels. */
  H0?: Matrix;
  /** Default 200. */
  maxIter?: number;
  /** Default 1e-4. */
  tol?: number;
  /** Run exactly maxIter iterations. Default false. */
  noStop?: boolean;
  /** Sample the loss every this many iterations. Default 10. */
  lossEvery?: number;
  /** Scale X so the mean pixel sum is k (ESPM's normalize); W is returned in data units. Default false. */
  normalize?: boolean;
  /** Iterations (1-based) whose raw iterates are kept in `snapshots`. */
  snapshots?: readonly number[];
  /** Seed of the PRNG used by 'random' and 'nndsvdar' init. Default 0. */
  seed?: number;
  /**
   * Default 'auto': WebGPU when an adapter exists, else the CPU reference. A backend object
   * (`createWebGPUBackend()`, `cpuBackend`) is used as given and not disposed: fits that share one
   * keep its device and compiled pipelines (a pipeline compile costs 0.1–0.3 s on lavapipe).
   */
  backend?: BackendName | Backend;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Called with each warning (all-zero rows or columns, ...). Default: collected in `warnings` only. */
  onWarning?: (message: string) => void;
}

/** A fitted model. W and D are in data units, H in the map space (see README). */
export interface FitResult {
  /** m × k; without G, W = D is n × k. */
  W: Matrix64;
  /** k × pixels: the maps. */
  H: Matrix64;
  /** n × k, D = G W: the component spectra. */
  D: Matrix64;
  losses: LossSample[];
  nIter: number;
  stopReason: StopReason;
  /** Raw iterates (solver space) at the requested iterations. */
  snapshots: Map<number, { W: Matrix64; H: Matrix64 }>;
  /** The normalisation factor s (1 when normalize is off). */
  normFactor: number;
  backend: 'cpu' | 'webgpu';
  backendInfo: string;
  warnings: string[];
  /** Seconds spent in the iteration loop. */
  solveSeconds: number;
  /** Total seconds of the fit, validation to result. */
  totalSeconds: number;
}
