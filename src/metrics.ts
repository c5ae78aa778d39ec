/**
 * Comparing a fit with the ground truth, as ESPM's `measures` does: spectral angles between the
 * component spectra, the matching of fitted to true components that minimises the summed angle,
 * and per-pair map errors (MSE, MAE, R²).
 *
 * Layouts: spectra are the columns of D (n × k); maps are the rows of H (k × p).
 */
import { usageError } from './errors.js';
import type { Matrix } from './types.js';

/**
 * Spectral angle between two vectors in degrees: arccos of their cosine, the cosine clamped to
 * [−1, 1]. NaN when either vector is all zero (the angle is undefined).
 */
export function spectralAngle(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw usageError(`spectralAngle: vectors of lengths ${a.length} and ${b.length}`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  const cos = ab / (Math.sqrt(aa) * Math.sqrt(bb));
  if (Number.isNaN(cos)) return Number.NaN;
  return (Math.acos(Math.min(1, Math.max(-1, cos))) * 180) / Math.PI;
}

function column(A: Matrix, j: number): Float64Array {
  const out = new Float64Array(A.rows);
  for (let i = 0; i < A.rows; i++) out[i] = A.data[i * A.cols + j];
  return out;
}

function row(A: Matrix, i: number): Float64Array {
  return Float64Array.from(A.data.subarray(i * A.cols, (i + 1) * A.cols));
}

/** Angle matrix: entry [i][j] = angle between column i of trueD and column j of D (degrees). */
export function angleMatrix(trueD: Matrix, D: Matrix): number[][] {
  if (trueD.rows !== D.rows) {
    throw usageError(`angleMatrix: true spectra have ${trueD.rows} channels, fitted ones ${D.rows}`);
  }
  const fitted = Array.from({ length: D.cols }, (_, j) => column(D, j));
  return Array.from({ length: trueD.cols }, (_, i) => {
    const t = column(trueD, i);
    return fitted.map((f) => spectralAngle(t, f));
  });
}

function checkCost(cost: readonly (readonly number[])[]): { rows: number; cols: number } {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0].length;
  for (const r of cost) {
    if (r.length !== cols) throw usageError('assignment: the cost matrix rows differ in length');
    for (const v of r) if (!Number.isFinite(v)) throw usageError(`assignment: cost entries must be finite, got ${v}`);
  }
  return { rows, cols };
}

/**
 * Minimum-cost assignment by exhaustive search: assignment[i] = column of row i, or −1 for rows left
 * unmatched when rows > cols. min(rows, cols) pairs are matched. Ties: the lexicographically first.
 * Meant for small problems (≤ 8 × 8: 40 320 permutations).
 */
export function assignmentBruteForce(cost: readonly (readonly number[])[]): number[] {
  const { rows, cols } = checkCost(cost);
  if (rows > cols) return invert(assignmentBruteForce(transposeCost(cost)), rows);
  const used = new Array<boolean>(cols).fill(false);
  const current = new Array<number>(rows).fill(-1);
  let best: number[] = current.slice();
  let bestCost = Infinity;
  const search = (i: number, acc: number): void => {
    if (acc >= bestCost) return;
    if (i === rows) {
      bestCost = acc;
      best = current.slice();
      return;
    }
    for (let j = 0; j < cols; j++) {
      if (used[j]) continue;
      used[j] = true;
      current[i] = j;
      search(i + 1, acc + cost[i][j]);
      used[j] = false;
    }
  };
  search(0, 0);
  return best;
}

/**
 * Minimum-cost assignment by the Hungarian algorithm (Kuhn–Munkres with potentials and shortest
 * augmenting paths, O(rows² · cols)), for a rectangular cost matrix: assignment[i] = column of row
 * i, or −1 for rows left unmatched when rows > cols.
 */
export function assignmentHungarian(cost: readonly (readonly number[])[]): number[] {
  const { rows, cols } = checkCost(cost);
  if (rows > cols) return invert(assignmentHungarian(transposeCost(cost)), rows);
  // 1-based arrays; column 0 is a virtual column holding the row being inserted.
  const n = rows;
  const m = cols;
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const matchOfCol = new Int32Array(m + 1); // row matched to column j (0 = none)
  const way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    matchOfCol[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const usedCol = new Array<boolean>(m + 1).fill(false);
    do {
      usedCol[j0] = true;
      const i0 = matchOfCol[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (usedCol[j]) continue;
        const cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (usedCol[j]) {
          u[matchOfCol[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (matchOfCol[j0] !== 0);
    do {
      const j1 = way[j0];
      matchOfCol[j0] = matchOfCol[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const assignment = new Array<number>(n).fill(-1);
  for (let j = 1; j <= m; j++) if (matchOfCol[j] !== 0) assignment[matchOfCol[j] - 1] = j - 1;
  return assignment;
}

function transposeCost(cost: readonly (readonly number[])[]): number[][] {
  return cost[0].map((_, j) => cost.map((r) => r[j]));
}

/** From an assignment of the transposed problem (col → row) to row → col (−1 when unmatched). */
function invert(colToRow: readonly number[], rows: number): number[] {
  const out = new Array<number>(rows).fill(-1);
  colToRow.forEach((r, c) => {
    if (r >= 0) out[r] = c;
  });
  return out;
}

/** Minimum-cost assignment: exhaustive for max(rows, cols) ≤ 8, Hungarian beyond. */
export function assignment(cost: readonly (readonly number[])[]): number[] {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0].length;
  return Math.max(rows, cols) <= 8 ? assignmentBruteForce(cost) : assignmentHungarian(cost);
}

export interface MapErrors {
  mse: number;
  mae: number;
  /**
   * 1 − SS_res / SS_tot, SS_tot around the mean of the true map. A constant true map (SS_tot = 0)
   * gets 1 when reproduced exactly and 0 otherwise (scikit-learn's `r2_score` convention).
   */
  r2: number;
}

/** MSE, MAE and R² of a fitted map against a true one. */
export function mapErrors(trueMap: ArrayLike<number>, map: ArrayLike<number>): MapErrors {
  const p = trueMap.length;
  if (map.length !== p) throw usageError(`mapErrors: true map has ${p} pixels, fitted map ${map.length}`);
  if (p === 0) throw usageError('mapErrors: empty maps');
  let mean = 0;
  for (let i = 0; i < p; i++) mean += trueMap[i];
  mean /= p;
  let ssRes = 0;
  let sae = 0;
  let ssTot = 0;
  for (let i = 0; i < p; i++) {
    const d = trueMap[i] - map[i];
    ssRes += d * d;
    sae += Math.abs(d);
    ssTot += (trueMap[i] - mean) * (trueMap[i] - mean);
  }
  const r2 = ssTot === 0 ? (ssRes === 0 ? 1 : 0) : 1 - ssRes / ssTot;
  return { mse: ssRes / p, mae: sae / p, r2 };
}

export interface TruthComparison {
  /** permutation[i] = fitted component matched to true component i (−1 if unmatched). */
  permutation: number[];
  /** Spectral angle (degrees) of each true component to its match (NaN if unmatched). */
  angles: number[];
  /** Per true component (NaN when unmatched or maps not given). */
  mse: number[];
  mae: number[];
  r2: number[];
  /** Means over the matched pairs. */
  meanAngle: number;
  meanMse: number;
  meanMae: number;
  meanR2: number;
  /** The full angle matrix [true i][fitted j]. */
  angleMatrix: number[][];
  /** Fitted components matched to no true one (when k_fit > k_true). */
  unmatchedFitted: number[];
}

const meanOf = (xs: readonly number[]): number => {
  const ok = xs.filter((x) => !Number.isNaN(x));
  return ok.length === 0 ? Number.NaN : ok.reduce((a, b) => a + b, 0) / ok.length;
};

/**
 * Match fitted components to true ones by the spectra (the permutation minimising the summed
 * spectral angle, as ESPM's `find_min_angle`), then compare the matched maps.
 * trueD is n × k_true and D is n × k_fit; trueH (k_true × p) and H (k_fit × p) are optional.
 * When k_fit ≠ k_true, min(k_true, k_fit) pairs are matched.
 */
export function compareToTruth(args: { trueD: Matrix; D: Matrix; trueH?: Matrix; H?: Matrix }): TruthComparison {
  const { trueD, D, trueH, H } = args;
  const kt = trueD.cols;
  const kf = D.cols;
  const angles = angleMatrix(trueD, D);
  for (let i = 0; i < kt; i++) {
    for (let j = 0; j < kf; j++) {
      if (Number.isNaN(angles[i][j])) {
        throw usageError(`compareToTruth: true component ${i} or fitted component ${j} has an all-zero spectrum`);
      }
    }
  }
  const permutation = kt === 0 || kf === 0 ? new Array<number>(kt).fill(-1) : assignment(angles);
  const withMaps = trueH !== undefined && H !== undefined;
  if ((trueH === undefined) !== (H === undefined)) throw usageError('compareToTruth: give both trueH and H, or neither');
  if (withMaps) {
    if (trueH.rows !== kt || H.rows !== kf || trueH.cols !== H.cols) {
      throw usageError(
        `compareToTruth: maps must be k × pixels with k matching the spectra: trueH is ${trueH.rows} × ${trueH.cols} (expected ${kt} rows), H is ${H.rows} × ${H.cols} (expected ${kf} rows)`,
      );
    }
  }
  const out: TruthComparison = {
    permutation,
    angles: [],
    mse: [],
    mae: [],
    r2: [],
    meanAngle: Number.NaN,
    meanMse: Number.NaN,
    meanMae: Number.NaN,
    meanR2: Number.NaN,
    angleMatrix: angles,
    unmatchedFitted: Array.from({ length: kf }, (_, j) => j).filter((j) => !permutation.includes(j)),
  };
  for (let i = 0; i < kt; i++) {
    const j = permutation[i];
    out.angles.push(j < 0 ? Number.NaN : angles[i][j]);
    if (withMaps && j >= 0) {
      const e = mapErrors(row(trueH, i), row(H, j));
      out.mse.push(e.mse);
      out.mae.push(e.mae);
      out.r2.push(e.r2);
    } else {
      out.mse.push(Number.NaN);
      out.mae.push(Number.NaN);
      out.r2.push(Number.NaN);
    }
  }
  out.meanAngle = meanOf(out.angles);
  out.meanMse = meanOf(out.mse);
  out.meanMae = meanOf(out.mae);
  out.meanR2 = meanOf(out.r2);
  return out;
}
