/**
 * prepareProblem reads X once to validate it, find its all-zero lines and sum it, and writes the
 * float64 copy once (ε fills and normalisation together). Its results must be exactly those of
 * the plain sequence it replaced, kept here as the reference: validateData, toFloat64, ESPM's
 * `remove_zeros_lines` (row and column sums, a copy, the fills), the normalisation factor over the
 * filled copy, then a scaled copy.
 */
import { describe, expect, test } from 'vitest';
import { initialize } from '../src/cpu/init.js';
import { normalizationFactor, prepareProblem } from '../src/estimator.js';
import { WebnmfError } from '../src/errors.js';
import { validateData } from '../src/problem/validate.js';
import { EPSILON, type Matrix, type Matrix64 } from '../src/types.js';

/** The reference: the former prepareProblem's X steps, pass by pass. */
function reference(X: Matrix, k: number, normalize: boolean) {
  validateData(X, 'X');
  const warnings: string[] = [];
  const X64: Matrix64 = X.data instanceof Float64Array ? (X as Matrix64) : { rows: X.rows, cols: X.cols, data: Float64Array.from(X.data) };
  const { rows: n, cols: p, data } = X64;
  const rowSum = new Float64Array(n);
  const colSum = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      rowSum[i] += data[i * p + j];
      colSum[j] += data[i * p + j];
    }
  }
  const zeroRows = [...rowSum.keys()].filter((i) => rowSum[i] === 0);
  const zeroCols = [...colSum.keys()].filter((j) => colSum[j] === 0);
  let filled = X64;
  if (zeroRows.length || zeroCols.length) {
    const out = data.slice();
    for (const i of zeroRows) out.fill(EPSILON, i * p, (i + 1) * p);
    for (const j of zeroCols) for (let i = 0; i < n; i++) out[i * p + j] = EPSILON;
    const list = (a: number[]) => (a.length > 5 ? `${a.slice(0, 5).join(', ')}, … (${a.length} in all)` : a.join(', '));
    if (zeroRows.length) warnings.push(`X has all-zero channels (rows ${list(zeroRows)}); set to ε = ${EPSILON} as ESPM does`);
    if (zeroCols.length) warnings.push(`X has all-zero pixels (columns ${list(zeroCols)}); set to ε = ${EPSILON} as ESPM does`);
    filled = { rows: n, cols: p, data: out };
  }
  if (!normalize) return { X: filled, normFactor: 1, warnings };
  let sum = 0;
  for (let j = 0; j < filled.data.length; j++) sum += filled.data[j];
  const s = k / ((sum / filled.data.length) * n);
  const out = new Float64Array(filled.data.length);
  for (let j = 0; j < out.length; j++) out[j] = filled.data[j] * s;
  return { X: { rows: n, cols: p, data: out }, normFactor: s, warnings };
}

/** Counts with ~90 % zeros; rows and columns listed are made all zero. */
function counts(n: number, p: number, seed: number, zeroRows: number[] = [], zeroCols: number[] = [], f32 = false): Matrix {
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const data = f32 ? new Float32Array(n * p) : new Float64Array(n * p);
  for (let j = 0; j < data.length; j++) data[j] = r() < 0.1 ? 1 + Math.floor(r() * 6) : 0;
  // exactly the zero lines asked for: a count in every other row and column
  const live = [...Array(n).keys()].filter((i) => !zeroRows.includes(i));
  for (const [c, i] of live.entries()) if (!zeroCols.includes(c % p)) data[i * p + (c % p)] ||= 1;
  for (let j = 0; j < p; j++) if (live.length && !zeroCols.includes(j)) data[live[j % live.length] * p + j] ||= 2;
  for (const i of zeroRows) data.fill(0, i * p, (i + 1) * p);
  for (const j of zeroCols) for (let i = 0; i < n; i++) data[i * p + j] = 0;
  return { rows: n, cols: p, data };
}

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return -2;
  for (let j = 0; j < a.length; j++) if (!Object.is(a[j], b[j])) return j;
  return -1;
};

describe('prepareProblem: one validating pass, one write, the same X as before', () => {
  const n = 24;
  const p = 60;
  // [name, X, how many warnings: one for zero channels, one for zero pixels]
  const cases: [string, Matrix, number][] = [
    ['no zero lines', counts(n, p, 1, [], []), 0],
    // zero channels first: the ε sum then starts from 0 and every ε counts (no early stop)
    ['zero channels at both ends', counts(n, p, 2, [0, 1, 2, 3, 4, 5, 22, 23]), 1],
    ['zero pixels', counts(n, p, 3, [], [0, 7, 8, 59]), 1],
    ['zero channels and pixels', counts(n, p, 4, [0, 5, 6, 7, 8, 9, 10, 11], [3, 4]), 2],
    ['float32, zero channels and pixels', counts(n, p, 5, [1, 2], [10], true), 2],
    ['float32, nothing to fill', counts(n, p, 6, [], [], true), 0],
    ['every value 0', counts(3, 4, 7, [0, 1, 2]), 2],
  ];
  for (const [name, X, nWarnings] of cases) {
    for (const normalize of [true, false]) {
      test(`${name}, normalize ${normalize}`, () => {
        const k = 2;
        const want = reference(X, k, normalize);
        const warnings: string[] = [];
        const { problem, normFactor } = prepareProblem(X, { components: k, normalize, seed: 1, init: 'random' }, (m) => warnings.push(m));
        expect(sameBits(problem.X.data, want.X.data), 'first differing value').toBe(-1);
        expect(Object.is(normFactor, want.normFactor), `normFactor ${normFactor} vs ${want.normFactor}`).toBe(true);
        expect(warnings).toEqual(want.warnings);
        expect(warnings.length, 'the zero lines the case is about').toBe(nWarnings);
        // a float64 X with nothing to fill or scale is shared, not copied (as before)
        expect(problem.X === X).toBe(want.X === X);
      });
    }
  }

  test('many zero channels and pixels: the warnings list the first five', () => {
    const X = counts(30, 40, 8, [0, 1, 2, 3, 4, 5, 6, 29], [1, 2, 3, 4, 5, 6, 7, 39]);
    const want = reference(X, 3, true);
    const warnings: string[] = [];
    const { problem } = prepareProblem(X, { components: 3, normalize: true, init: 'random' }, (m) => warnings.push(m));
    expect(warnings).toEqual(want.warnings);
    expect(warnings[0]).toMatch(/rows 0, 1, 2, 3, 4, … \(8 in all\)/);
    expect(sameBits(problem.X.data, want.X.data)).toBe(-1);
  });

  test('normalizationFactor is the flat-order mean', () => {
    const X = counts(n, p, 9);
    let sum = 0;
    for (let j = 0; j < X.data.length; j++) sum += X.data[j];
    expect(normalizationFactor(X, 3)).toBe(3 / ((sum / X.data.length) * n));
  });

  test.each([
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [-0.5, 'negative (-0.5)'],
  ])('a %s after all-zero rows is named as validateData names it', (bad, what) => {
    const X = counts(n, p, 10, [0, 1, 2]);
    X.data[5 * p + 7] = bad;
    X.data[9 * p + 1] = bad;
    let want = '';
    try {
      validateData(X, 'X');
    } catch (e) {
      want = (e as Error).message;
    }
    expect(want).toMatch(new RegExp(`${what.replace(/[()+]/g, '\\$&')} value at row 5, column 7 \\(flat index ${5 * p + 7}\\)`));
    let err: unknown;
    try {
      prepareProblem(X, { components: 2, normalize: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WebnmfError);
    expect((err as WebnmfError).kind).toBe('input');
    expect((err as Error).message).toBe(want);
  });

  test('-0 passes as 0 (as validateData lets it)', () => {
    const X = counts(n, p, 11, [4]);
    X.data[4 * p + 3] = -0;
    const want = reference(X, 2, true);
    const { problem } = prepareProblem(X, { components: 2, normalize: true, init: 'random' });
    expect(sameBits(problem.X.data, want.X.data)).toBe(-1);
  });

  test("initialize() called directly still checks X (prepareProblem has checked it already)", () => {
    const X = counts(4, 6, 12);
    X.data[7] = NaN;
    const W0 = { rows: 4, cols: 1, data: new Float64Array(4).fill(1) };
    const H0 = { rows: 1, cols: 6, data: new Float64Array(6).fill(1) };
    expect(() => initialize(X, { k: 1, simplex: 'none', seed: 0, W0, H0 })).toThrow(/non-negative and finite-valued; X\[1\]\[1\] = NaN/);
    expect(() => initialize(X, { k: 1, simplex: 'none', seed: 0, W0, H0, xChecked: true })).not.toThrow();
  });
});
