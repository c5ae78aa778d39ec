/**
 * Validation at the boundary, once: one table of option constraints (as scikit-learn's
 * `_parameter_constraints`), then the cross-option rules. Every message names the value, what
 * was expected and how to fix it. Inner code trusts what leaves this file.
 */
import { WebnmfError } from '../errors.js';
import type { SmoothNMFOptions } from '../options.js';
import type {
  Backend,
  BackendName,
  ImageShape,
  InitMethod,
  LossKind,
  Majorizer,
  Matrix,
  Matrix64,
  SimplexMode,
  SimplexSolver,
} from '../types.js';

const usage = (m: string) => new WebnmfError('usage', m);
const input = (m: string) => new WebnmfError('input', m);

/** A matrix's structure: an object with Float32/Float64 data of positive integer rows × cols values. */
export function validateShape(A: Matrix, name: string): void {
  if (!A || typeof A !== 'object' || !('data' in A)) {
    throw usage(`${name} must be a matrix { rows, cols, data: Float32Array | Float64Array }`);
  }
  if (!(A.data instanceof Float64Array || A.data instanceof Float32Array)) {
    throw usage(`${name}.data must be a Float32Array or Float64Array (got ${Object.prototype.toString.call(A.data)})`);
  }
  if (!Number.isInteger(A.rows) || !Number.isInteger(A.cols) || A.rows < 1 || A.cols < 1) {
    throw usage(`${name} must have positive integer rows and cols (got ${A.rows} × ${A.cols})`);
  }
  if (A.data.length !== A.rows * A.cols) {
    throw input(`${name} is declared ${A.rows} × ${A.cols} = ${A.rows * A.cols} values but its data holds ${A.data.length}`);
  }
}

/**
 * The error for the bad value at flat index i (NaN, ±Inf, or negative where `nonNegative`): shared
 * by `validateData` and passes that validate while they read X for something else (prepareProblem).
 */
export function badValueError(A: Matrix, name: string, i: number, nonNegative = true): WebnmfError {
  const v = A.data[i];
  const r = Math.floor(i / A.cols);
  const c = i % A.cols;
  const what = Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : `negative (${v})`;
  return input(
    `${name} has a ${what} value at row ${r}, column ${c} (flat index ${i}); ` +
      (nonNegative ? 'NMF needs finite non-negative data: clean or clip the input first' : 'it must be finite: clean the input first'),
  );
}

/**
 * Checks a matrix's structure and that every value is finite (and ≥ 0 unless `nonNegative` is
 * false, e.g. for PCA); names the first bad entry.
 */
export function validateData(A: Matrix, name: string, { nonNegative = true }: { nonNegative?: boolean } = {}): void {
  validateShape(A, name);
  const d = A.data;
  const len = d.length;
  // Two loops so the common test is one compare pair per value: NaN fails both `>=` and `<`.
  if (nonNegative) {
    for (let i = 0; i < len; i++) {
      const v = d[i];
      if (!(v >= 0 && v < Infinity)) throw badValueError(A, name, i, true);
    }
  } else {
    for (let i = 0; i < len; i++) {
      const v = d[i];
      if (!(v > -Infinity && v < Infinity)) throw badValueError(A, name, i, false);
    }
  }
}

type Check = (v: unknown) => boolean;
interface Constraint {
  check: Check;
  expected: string;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const int = (min: number): Constraint => ({
  check: (v) => Number.isInteger(v) && (v as number) >= min,
  expected: `an integer ≥ ${min}`,
});
const real = (min: number, open = false): Constraint => ({
  check: (v) => isNum(v) && (open ? v > min : v >= min),
  expected: `a finite number ${open ? '>' : '≥'} ${min}`,
});
const oneOf = <T extends string>(...values: T[]): Constraint => ({
  check: (v) => values.includes(v as T),
  expected: `one of ${values.map((s) => `'${s}'`).join(', ')}`,
});
const bool: Constraint = { check: (v) => typeof v === 'boolean', expected: 'true or false' };

/** The option table: every scalar option, its constraint. */
const CONSTRAINTS: Partial<Record<keyof SmoothNMFOptions, Constraint>> = {
  components: int(1),
  lambda: real(0),
  epsilonReg: real(0, true),
  simplex: oneOf<SimplexMode>('h', 'w', 'none'),
  simplexSolver: oneOf<SimplexSolver>('exact', 'espm'),
  majorizer: oneOf<Majorizer>('espm', 'tight'),
  extrapolation: { check: (v) => isNum(v) && v >= 0 && v < 1, expected: 'a number from 0 up to (not including) 1' },
  simplexTol: real(0, true),
  loss: oneOf<LossKind>('kl', 'frobenius'),
  init: oneOf<InitMethod>('random', 'nndsvd', 'nndsvda', 'nndsvdar', 'custom'),
  maxIter: int(1),
  tol: real(0),
  noStop: bool,
  lossEvery: int(1),
  normalize: bool,
  seed: int(0),
  backend: {
    check: (b) => ['cpu', 'webgpu', 'auto'].includes(b as string) || (typeof b === 'object' && b !== null && typeof (b as Backend).solve === 'function'),
    expected: "one of 'cpu', 'webgpu', 'auto' or a backend object (createWebGPUBackend())",
  },
};

const KNOWN = new Set<string>([
  ...Object.keys(CONSTRAINTS),
  'mu',
  'G',
  'shape',
  'W0',
  'H0',
  'snapshots',
  'signal',
  'onProgress',
  'onWarning',
]);

export interface ResolvedOptions {
  components: number;
  lambda: number;
  mu: Float64Array;
  epsilonReg: number;
  simplex: SimplexMode;
  simplexSolver: SimplexSolver;
  simplexTol: number;
  majorizer: Majorizer;
  extrapolation: number;
  G?: Matrix64;
  shape?: ImageShape;
  loss: LossKind;
  init: InitMethod | 'auto';
  W0?: Matrix;
  H0?: Matrix;
  maxIter: number;
  tol: number;
  noStop: boolean;
  lossEvery: number;
  normalize: boolean;
  snapshots: number[];
  seed: number;
  backend: BackendName | Backend;
}

const toF64 = (A: Matrix): Matrix64 =>
  A.data instanceof Float64Array ? (A as Matrix64) : { rows: A.rows, cols: A.cols, data: Float64Array.from(A.data) };

/** Applies defaults and checks every option against X (channels × pixels). */
export function resolveOptions(o: SmoothNMFOptions, X: Matrix): ResolvedOptions {
  if (!o || typeof o !== 'object') throw usage('options must be an object, e.g. { components: 3 }');
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw usage(`unknown option '${key}'; known options: ${[...KNOWN].sort().join(', ')}`);
  }
  if (o.components === undefined) throw usage('options.components (the number of components k) is required');
  for (const [key, c] of Object.entries(CONSTRAINTS) as [keyof SmoothNMFOptions, Constraint][]) {
    const v = o[key];
    if (v !== undefined && !c.check(v)) throw usage(`option ${key} must be ${c.expected}, got ${JSON.stringify(v)}`);
  }
  const n = X.rows;
  const p = X.cols;
  const k = o.components;
  if (k > Math.min(n, p)) {
    throw usage(`components = ${k} exceeds min(channels, pixels) = min(${n}, ${p}); choose k ≤ ${Math.min(n, p)}`);
  }

  // μ: scalar or one per component.
  const mu = new Float64Array(k);
  if (o.mu !== undefined) {
    if (typeof o.mu === 'number') {
      if (!(isNum(o.mu) && o.mu >= 0)) throw usage(`option mu must be a finite number ≥ 0 or one per component, got ${o.mu}`);
      mu.fill(o.mu);
    } else if (Array.isArray(o.mu) || ArrayBuffer.isView(o.mu)) {
      const arr = Array.from(o.mu as ArrayLike<number>);
      if (arr.length !== k) throw usage(`option mu has ${arr.length} values but components = ${k}; give one μ per component or a scalar`);
      arr.forEach((v, i) => {
        if (!(isNum(v) && v >= 0)) throw usage(`option mu[${i}] must be a finite number ≥ 0, got ${v}`);
        mu[i] = v;
      });
    } else {
      throw usage(`option mu must be a number or an array of ${k} numbers`);
    }
  }

  const loss = o.loss ?? 'kl';
  const lambda = o.lambda ?? 0;
  const simplex = o.simplex ?? 'none';
  const majorizer = o.majorizer ?? 'espm';

  // G
  let G: Matrix64 | undefined;
  if (o.G !== undefined) {
    validateData(o.G, 'G');
    if (o.G.rows !== n) throw input(`G has ${o.G.rows} rows but X has ${n} channels; G must be channels × m`);
    G = toF64(o.G);
    checkGAgainstX(G, X, o.loss ?? 'kl');
  }
  const m = G ? G.cols : n;

  // Image shape
  let shape: ImageShape | undefined;
  if (o.shape !== undefined) {
    const s = o.shape;
    if (!s || !Number.isInteger(s.rows) || !Number.isInteger(s.cols) || s.rows < 1 || s.cols < 1) {
      throw usage(`option shape must be { rows, cols } with positive integers, got ${JSON.stringify(s)}`);
    }
    if (s.rows * s.cols !== p) {
      throw input(`shape ${s.rows} × ${s.cols} = ${s.rows * s.cols} pixels, but X has ${p} pixels (columns); fix the shape or X`);
    }
    shape = { rows: s.rows, cols: s.cols };
  }

  // Cross-option rules (ESPM's issue #10: settings that conflict).
  if (lambda > 0 && !shape) {
    throw usage(
      `lambda = ${lambda} (Laplacian smoothness) needs the image shape: pass shape { rows, cols } with rows · cols = ${p}; ` +
        `ESPM silently uses a plain ‖H‖² penalty without one`,
    );
  }
  if (simplex === 'w' && !G) {
    throw usage(`simplex 'w' needs G: without G it would force each spectrum to sum to 1; use simplex 'h' or give G`);
  }
  if (majorizer === 'tight' && o.simplexSolver === 'espm') {
    throw usage(
      `simplexSolver 'espm' reproduces ESPM's iterates and goes with majorizer 'espm'; ` +
        `the 'tight' H step always solves its simplex multiplier exactly (drop simplexSolver or use majorizer 'espm')`,
    );
  }
  const extrapolation = o.extrapolation ?? 0;
  if (extrapolation > 0 && simplex === 'w') {
    throw usage(`extrapolation = ${extrapolation} does not go with simplex 'w' (the extrapolated W would leave the simplex); use simplex 'h' or extrapolation 0`);
  }
  if (extrapolation > 0 && majorizer === 'espm' && lambda > 0) {
    throw usage(
      `extrapolation = ${extrapolation} with lambda = ${lambda} needs majorizer 'tight' ` +
        `(ESPM's Laplacian bound is taken at the plain iterate's row maxima); set majorizer 'tight' or extrapolation 0`,
    );
  }
  if (loss === 'frobenius' && (lambda > 0 || mu.some((v) => v > 0) || simplex !== 'none')) {
    throw usage(`loss 'frobenius' is plain Lee–Seung NMF: it takes no lambda, mu or simplex; use loss 'kl' for the regularised model`);
  }

  // Starting point.
  if ((o.W0 === undefined) !== (o.H0 === undefined)) {
    throw usage(`give both W0 and H0 for a custom start (got only ${o.W0 ? 'W0' : 'H0'})`);
  }
  const custom = o.W0 !== undefined;
  const init = o.init ?? (custom ? 'custom' : 'auto');
  if (init === 'custom' && !custom) throw usage(`init 'custom' needs W0 and H0`);
  if (custom && init !== 'custom') throw usage(`W0 and H0 are given but init is '${init}'; set init 'custom' or drop W0/H0`);
  if (custom) {
    validateData(o.W0 as Matrix, 'W0');
    validateData(o.H0 as Matrix, 'H0');
    const W0 = o.W0 as Matrix;
    const H0 = o.H0 as Matrix;
    if (W0.rows !== m || W0.cols !== k) {
      throw input(`W0 is ${W0.rows} × ${W0.cols} but must be ${m} × ${k} (${G ? 'columns of G' : 'channels'} × components)`);
    }
    if (H0.rows !== k || H0.cols !== p) throw input(`H0 is ${H0.rows} × ${H0.cols} but must be ${k} × ${p} (components × pixels)`);
  }

  const maxIter = o.maxIter ?? 200;
  const snapshots = [...(o.snapshots ?? [])];
  for (const s of snapshots) {
    if (!Number.isInteger(s) || s < 1 || s > maxIter) {
      throw usage(`snapshot iteration ${s} must be an integer between 1 and maxIter = ${maxIter}`);
    }
  }

  return {
    components: k,
    lambda,
    mu,
    epsilonReg: o.epsilonReg ?? 1,
    simplex,
    simplexSolver: o.simplexSolver ?? 'exact',
    simplexTol: o.simplexTol ?? 1e-10,
    majorizer,
    extrapolation,
    G,
    shape,
    loss,
    init,
    W0: o.W0,
    H0: o.H0,
    maxIter,
    tol: o.tol ?? 1e-4,
    noStop: o.noStop ?? false,
    lossEvery: o.lossEvery ?? 10,
    normalize: o.normalize ?? false,
    snapshots,
    seed: o.seed ?? 0,
    backend: o.backend ?? 'auto',
  };
}

/**
 * A G the model cannot use: an all-zero column has no scale (its W row is 0/0), and under KL an
 * all-zero row where X has counts makes D H = 0 against X > 0 for every W (an infinite loss).
 */
function checkGAgainstX(G: Matrix64, X: Matrix, loss: LossKind): void {
  const { rows: n, cols: m, data: g } = G;
  const colSum = new Float64Array(m);
  const zeroRows: number[] = [];
  for (let i = 0; i < n; i++) {
    let rowSum = 0;
    for (let j = 0; j < m; j++) {
      colSum[j] += g[i * m + j];
      rowSum += g[i * m + j];
    }
    if (rowSum === 0) zeroRows.push(i);
  }
  const zeroCols = [...colSum.keys()].filter((j) => colSum[j] === 0);
  if (zeroCols.length > 0) {
    throw input(`G has all-zero columns (${list(zeroCols)}): such a column cannot be fitted; remove it from G`);
  }
  if (loss !== 'kl') return;
  const p = X.cols;
  const bad = zeroRows.filter((i) => {
    for (let j = 0; j < p; j++) if (X.data[i * p + j] > 0) return true;
    return false;
  });
  if (bad.length > 0) {
    throw input(
      `G is zero in channels where X has counts (channels ${list(bad)}): no W can explain those counts under the KL loss; ` +
        `drop those channels from X and G, or fix G there`,
    );
  }
}

const list = (idx: number[]) => (idx.length <= 5 ? idx.join(', ') : `${idx.slice(0, 5).join(', ')}, … (${idx.length} in all)`);
