import { describe, expect, it } from 'vitest';
import { fromRows, zeros } from '../src/cpu/linalg.js';
import {
  assignment,
  assignmentBruteForce,
  assignmentHungarian,
  compareToTruth,
  mapErrors,
  spectralAngle,
} from '../src/metrics.js';
import { Random } from '../src/random.js';
import { loadJson, loadMatrix } from './helpers/fixtures.js';

const totalCost = (cost: number[][], a: number[]): number =>
  a.reduce((s, j, i) => (j < 0 ? s : s + cost[i][j]), 0);

function randomCost(rows: number, cols: number, seed: number, integer = false): number[][] {
  const r = new Random(seed);
  return Array.from({ length: rows }, () =>
    Array.from({ length: cols }, () => (integer ? r.int(5) : r.uniform() * 90)),
  );
}

describe('spectralAngle', () => {
  it('gives hand-checked angles in degrees', () => {
    expect(spectralAngle([1, 0], [0, 1])).toBeCloseTo(90, 12);
    expect(spectralAngle([1, 0], [1, 1])).toBeCloseTo(45, 12);
    expect(spectralAngle([1, 2, 3], [2, 4, 6])).toBe(0); // cosine rounds above 1: clamped
    expect(spectralAngle([1, 0], [-1, 0])).toBeCloseTo(180, 12);
    expect(spectralAngle([3, 1e-300], [3, 1e-300])).toBe(0);
  });

  it('is NaN for a zero vector and rejects length mismatch', () => {
    expect(spectralAngle([0, 0], [1, 2])).toBeNaN();
    expect(() => spectralAngle([1], [1, 2])).toThrow(/lengths/);
  });
});

describe('assignment', () => {
  it('solves a hand-checked 3 × 3 case', () => {
    const cost = [
      [4, 1, 3],
      [2, 0, 5],
      [3, 2, 2],
    ];
    // Optimal: 0→1, 1→0, 2→2 with cost 1 + 2 + 2 = 5.
    expect(assignmentBruteForce(cost)).toEqual([1, 0, 2]);
    expect(assignmentHungarian(cost)).toEqual([1, 0, 2]);
  });

  it('brute force and Hungarian agree on random square and rectangular problems', () => {
    let trial = 0;
    for (const [rows, cols] of [
      [1, 1],
      [2, 2],
      [3, 3],
      [5, 5],
      [7, 7],
      [8, 8],
      [3, 6],
      [6, 3],
      [2, 8],
      [8, 5],
    ]) {
      for (let rep = 0; rep < 5; rep++) {
        const cost = randomCost(rows, cols, 100 + trial++, rep % 2 === 1);
        const a = assignmentBruteForce(cost);
        const b = assignmentHungarian(cost);
        expect(Math.abs(totalCost(cost, a) - totalCost(cost, b)), `${rows} × ${cols}, rep ${rep}`).toBeLessThan(1e-9);
        for (const x of [a, b]) {
          const matched = x.filter((j) => j >= 0);
          expect(matched.length).toBe(Math.min(rows, cols));
          expect(new Set(matched).size).toBe(matched.length);
        }
        // With continuous random costs the optimum is unique: the assignments are identical.
        if (rep % 2 === 0) expect(b).toEqual(a);
      }
    }
  });

  it('Hungarian is optimal on a larger problem with a planted solution', () => {
    const n = 20;
    const r = new Random(7);
    const perm = r.shuffle(Array.from({ length: n }, (_, i) => i));
    const cost = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (j === perm[i] ? r.uniform() : 1 + r.uniform())));
    expect(assignmentHungarian(cost)).toEqual(perm);
    expect(assignment(cost)).toEqual(perm);
  });
});

describe('mapErrors', () => {
  it('computes MSE, MAE and R² by hand', () => {
    const e = mapErrors([1, 2, 3, 4], [1, 2, 4, 2]);
    expect(e.mse).toBeCloseTo((0 + 0 + 1 + 4) / 4, 15);
    expect(e.mae).toBeCloseTo((0 + 0 + 1 + 2) / 4, 15);
    // SS_tot = 1.5² + 0.5² + 0.5² + 1.5² = 5; SS_res = 5.
    expect(e.r2).toBeCloseTo(0, 15);
    expect(mapErrors([1, 2, 3], [1, 2, 3]).r2).toBe(1);
  });

  it('defines R² of a constant true map', () => {
    expect(mapErrors([0.5, 0.5], [0.5, 0.5]).r2).toBe(1);
    expect(mapErrors([0.5, 0.5], [0.4, 0.5]).r2).toBe(0);
  });
});

describe('compareToTruth', () => {
  // Three spectra over 4 channels, and maps over 5 pixels.
  const trueD = fromRows([
    [1, 0, 0],
    [1, 1, 0],
    [0, 1, 1],
    [0, 0, 1],
  ]);
  const trueH = fromRows([
    [1, 0, 0, 0.5, 0.2],
    [0, 1, 0, 0.5, 0.3],
    [0, 0, 1, 0, 0.5],
  ]);

  it('finds the permutation of a shuffled, perturbed fit', () => {
    // Fitted component j = true component perm⁻¹: true 0 → fitted 2, true 1 → fitted 0, true 2 → fitted 1.
    const D = fromRows([
      [0, 0, 2],
      [2, 0, 2.1],
      [2, 1, 0],
      [0, 1, 0],
    ]);
    const H = fromRows([
      [0, 1, 0, 0.5, 0.3],
      [0, 0, 1, 0, 0.4],
      [1, 0, 0, 0.5, 0.2],
    ]);
    const c = compareToTruth({ trueD, D, trueH, H });
    expect(c.permutation).toEqual([2, 0, 1]);
    expect(c.angles[0]).toBeCloseTo(spectralAngle([1, 1, 0, 0], [2, 2.1, 0, 0]), 12);
    // arccos near a cosine of 1 resolves angles only to ~1e-6°: identical directions give ≤ 2e-6°.
    expect(c.angles[1]).toBeLessThan(2e-6);
    expect(c.mse.slice(0, 2)).toEqual([0, 0]);
    expect(c.mse[2]).toBeCloseTo((0.1 * 0.1) / 5, 15);
    expect(c.mae[2]).toBeCloseTo(0.1 / 5, 15);
    expect(c.r2[0]).toBe(1);
    expect(c.meanAngle).toBeCloseTo((c.angles[0] + c.angles[1] + c.angles[2]) / 3, 14);
    expect(c.meanAngle).toBeCloseTo(c.angles[0] / 3, 5);
    expect(c.unmatchedFitted).toEqual([]);
  });

  it('handles more fitted than true components', () => {
    const D = fromRows([
      [0, 1, 0, 0.2],
      [1, 1, 0, 0.2],
      [1, 0, 0, 0.2],
      [0, 0, 1, 0.2],
    ]);
    const c = compareToTruth({ trueD: fromRows([[1, 0], [1, 1], [0, 1], [0, 0]]), D });
    expect(c.permutation).toEqual([1, 0]);
    expect(Math.max(...c.angles)).toBeLessThan(2e-6);
    expect(c.unmatchedFitted).toEqual([2, 3]);
    expect(c.mse.every(Number.isNaN)).toBe(true);
  });

  it('handles fewer fitted than true components', () => {
    const D = fromRows([[0], [1], [1], [0]]);
    const c = compareToTruth({ trueD, D });
    expect(c.permutation).toEqual([-1, 0, -1]);
    expect(c.angles[0]).toBeNaN();
    expect(c.angles[1]).toBeLessThan(2e-6);
    expect(c.meanAngle).toBe(c.angles[1]);
  });

  it('matches with the Hungarian algorithm beyond k = 8', () => {
    const n = 40;
    const k = 10;
    const r = new Random(3);
    const T = zeros(n, k);
    for (let i = 0; i < T.data.length; i++) T.data[i] = r.uniform() ** 4;
    const perm = r.shuffle(Array.from({ length: k }, (_, i) => i));
    const D = zeros(n, k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) D.data[i * k + perm[c]] = T.data[i * k + c] * (1 + 0.01 * r.uniform());
    expect(compareToTruth({ trueD: T, D }).permutation).toEqual(perm);
  });

  it('checks shapes', () => {
    expect(() => compareToTruth({ trueD, D: zeros(3, 3) })).toThrow(/channels/);
    expect(() => compareToTruth({ trueD, D: trueD, trueH, H: zeros(3, 4) })).toThrow(/expected 3 rows/);
    expect(() => compareToTruth({ trueD, D: trueD, trueH })).toThrow(/both/);
    expect(() => compareToTruth({ trueD, D: zeros(4, 3) })).toThrow(/all-zero/);
  });
});

describe('ESPM toy fixture: b_notebook metrics', () => {
  it("reproduces ESPM's angles, MSE, MAE and R² for its own fit", () => {
    const run = loadJson<{ metrics: { angles_deg: number[]; true_inds: number[]; mse: number[]; mae: number[]; r2: number[] } }>(
      'b_notebook/run.json',
    );
    const c = compareToTruth({
      trueD: loadMatrix('GW.npy'),
      D: loadMatrix('b_notebook/GW.npy'),
      trueH: loadMatrix('H.npy'),
      H: loadMatrix('b_notebook/H.npy'),
    });
    // ESPM lists the metrics per fitted component j, matched to true component true_inds[j].
    const m = run.metrics;
    m.true_inds.forEach((t, j) => {
      expect(c.permutation[t], `true ${t}`).toBe(j);
      // Tolerances: different summation orders over 200 channels / 10 000 pixels.
      expect(c.angles[t]).toBeCloseTo(m.angles_deg[j], 9);
      expect(Math.abs(c.mse[t] - m.mse[j]) / m.mse[j]).toBeLessThan(1e-11);
      expect(Math.abs(c.mae[t] - m.mae[j]) / m.mae[j]).toBeLessThan(1e-11);
      expect(Math.abs(c.r2[t] - m.r2[j])).toBeLessThan(1e-11);
    });
  });
});
