/**
 * Bad input: each case ends in a WebnmfError that names the problem and the fix (never a stack
 * trace from deep inside, a hang, or a NaN result).
 */
import { describe, expect, test } from 'vitest';
import { cpuBackend } from '../src/cpu/solve.js';
import { fitSmoothNMF } from '../src/estimator.js';
import { WebnmfError } from '../src/errors.js';
import type { SmoothNMFOptions } from '../src/options.js';
import type { Matrix64 } from '../src/types.js';

const n = 6;
const p = 12;
const mk = (rows: number, cols: number, f: (i: number) => number = (i) => 1 + (i % 7)): Matrix64 => ({
  rows,
  cols,
  data: Float64Array.from({ length: rows * cols }, (_, i) => f(i)),
});
const X = mk(n, p);
const ok: SmoothNMFOptions = { components: 2, maxIter: 5, backend: 'cpu' };

async function expectError(x: Matrix64, opts: SmoothNMFOptions, kind: 'usage' | 'input', ...fragments: RegExp[]) {
  const err = await fitSmoothNMF(x, opts).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'expected the fit to fail').toBeInstanceOf(WebnmfError);
  const e = err as WebnmfError;
  expect(e.kind).toBe(kind);
  for (const f of fragments) expect(e.message).toMatch(f);
}

describe('bad data', () => {
  test.each([
    [NaN, /NaN value at row 1, column 3/],
    [Infinity, /\+Inf value at row 1, column 3/],
    [-Infinity, /-Inf value at row 1, column 3/],
    [-2, /negative \(-2\) value at row 1, column 3/],
  ])('X containing %s names the first offending index', async (bad, re) => {
    const x = mk(n, p);
    x.data[1 * p + 3] = bad;
    x.data[4 * p + 5] = bad;
    await expectError(x, ok, 'input', re, /flat index 15/);
  });

  test('a data array of the wrong length', async () => {
    await expectError({ rows: n, cols: p, data: new Float64Array(5) }, ok, 'input', /6 × 12 = 72 values but its data holds 5/);
  });

  test('all-zero rows and columns are set to ε with a warning, as ESPM does', async () => {
    const x = mk(n, p);
    x.data.fill(0, 2 * p, 3 * p); // channel 2
    for (let i = 0; i < n; i++) x.data[i * p + 7] = 0; // pixel 7
    const warnings: string[] = [];
    const r = await fitSmoothNMF(x, { ...ok, onWarning: (m) => warnings.push(m) });
    expect(warnings.join('\n')).toMatch(/all-zero channels \(rows 2\)/);
    expect(warnings.join('\n')).toMatch(/all-zero pixels \(columns 7\)/);
    expect(r.warnings).toEqual(warnings);
    expect(Array.from(r.H.data).every(Number.isFinite)).toBe(true);
  });
});

describe('bad options', () => {
  test.each<[string, SmoothNMFOptions, RegExp]>([
    ['components < 1', { ...ok, components: 0 }, /components must be an integer ≥ 1, got 0/],
    ['components not an integer', { ...ok, components: 2.5 }, /components must be an integer/],
    ['components > min(channels, pixels)', { ...ok, components: 7 }, /exceeds min\(channels, pixels\) = min\(6, 12\)/],
    ['negative lambda', { ...ok, lambda: -1 }, /lambda must be a finite number ≥ 0/],
    ['epsilonReg 0', { ...ok, epsilonReg: 0 }, /epsilonReg must be a finite number > 0/],
    ['mu of the wrong length', { ...ok, mu: [0.1, 0.2, 0.3] }, /mu has 3 values but components = 2/],
    ['negative mu entry', { ...ok, mu: [0.1, -1] }, /mu\[1\] must be a finite number ≥ 0/],
    ['unknown simplex', { ...ok, simplex: 'x' as never }, /simplex must be one of 'h', 'w', 'none'/],
    ['unknown option', { ...ok, lamda: 1 } as never, /unknown option 'lamda'/],
    ['lambda without a shape', { ...ok, lambda: 1 }, /needs the image shape/],
    ['simplex on W without G', { ...ok, simplex: 'w' }, /simplex 'w' needs G/],
    ['frobenius with a regulariser', { ...ok, loss: 'frobenius', lambda: 1, shape: { rows: 3, cols: 4 } }, /takes no lambda, mu or simplex/],
    ['W0 without H0', { ...ok, W0: mk(n, 2) }, /give both W0 and H0/],
    ['init custom without a start', { ...ok, init: 'custom' }, /init 'custom' needs W0 and H0/],
    ['W0/H0 with another init', { ...ok, init: 'random', W0: mk(n, 2), H0: mk(2, p) }, /set init 'custom' or drop W0\/H0/],
    ['snapshot beyond maxIter', { ...ok, snapshots: [10] }, /between 1 and maxIter = 5/],
    ['maxIter 0', { ...ok, maxIter: 0 }, /maxIter must be an integer ≥ 1/],
  ])('%s', async (_name, opts, re) => {
    await expectError(X, opts, 'usage', re);
  });

  test.each<[string, SmoothNMFOptions, RegExp]>([
    ['shape that does not cover the pixels', { ...ok, shape: { rows: 5, cols: 3 } }, /shape 5 × 3 = 15 pixels, but X has 12 pixels/],
    ['G with the wrong number of rows', { ...ok, G: mk(5, 3) }, /G has 5 rows but X has 6 channels/],
    ['G with a NaN', { ...ok, G: mk(n, 3, (i) => (i === 4 ? NaN : 1)) }, /G has a NaN value at row 1, column 1/],
    ['W0 of the wrong shape', { ...ok, W0: mk(n, 3), H0: mk(2, p) }, /W0 is 6 × 3 but must be 6 × 2/],
    ['G zero where X has counts', { ...ok, G: mk(n, 3, (i) => (Math.floor(i / 3) === 2 ? 0 : 1)) }, /G is zero in channels where X has counts \(channels 2\).*drop those channels/],
    ['G with an all-zero column', { ...ok, G: mk(n, 3, (i) => (i % 3 === 1 ? 0 : 1)) }, /G has all-zero columns \(1\).*remove it/],
    ['W0 against G', { ...ok, G: mk(n, 4), W0: mk(n, 2), H0: mk(2, p) }, /W0 is 6 × 2 but must be 4 × 2 \(columns of G/],
    ['H0 of the wrong shape', { ...ok, W0: mk(n, 2), H0: mk(2, p - 1) }, /H0 is 2 × 11 but must be 2 × 12/],
  ])('%s', async (_name, opts, re) => {
    await expectError(X, opts, 'input', re);
  });
});

describe('backend choice', () => {
  test("'auto' runs what the WebGPU engine cannot (more than 16 components) on the CPU and says why", async () => {
    const warnings: string[] = [];
    const big = mk(20, 30, (i) => 1 + ((i * 7919) % 13));
    const r = await fitSmoothNMF(big, { components: 17, maxIter: 2, backend: 'auto', onWarning: (m) => warnings.push(m) });
    expect(r.backend).toBe('cpu');
    expect(warnings.join('\n')).toMatch(/backend 'auto': the WebGPU engine supports at most 16 components \(got 17\); using the CPU reference/);
  });
  test('a backend object is used as given and not disposed', async () => {
    let solves = 0;
    let disposed = 0;
    const own = { ...cpuBackend, solve: (...a: Parameters<typeof cpuBackend.solve>) => (solves++, cpuBackend.solve(...a)), dispose: () => void disposed++ };
    await fitSmoothNMF(X, { ...ok, backend: own });
    await fitSmoothNMF(X, { ...ok, backend: own });
    expect(solves).toBe(2);
    expect(disposed).toBe(0);
  });
  test('a backend that is neither a name nor a backend object is refused', async () => {
    await expectError(X, { ...ok, backend: {} as never }, 'usage', /backend/, /createWebGPUBackend/);
    await expectError(X, { ...ok, backend: 'gpu' as never }, 'usage', /backend/, /'webgpu'/);
  });
});
