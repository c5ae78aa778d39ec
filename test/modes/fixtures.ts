/** Small deterministic datasets for the mode tests (no files). */
import type { Matrix64 } from '../../src/types.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const mat = (rows: number, cols: number, f: (i: number, j: number) => number): Matrix64 => {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = f(i, j);
  return { rows, cols, data };
};

export function product(D: Matrix64, H: Matrix64): Matrix64 {
  const k = D.cols;
  return mat(D.rows, H.cols, (i, j) => {
    let s = 0;
    for (let c = 0; c < k; c++) s += D.data[i * k + c] * H.data[c * H.cols + j];
    return s;
  });
}

/** D with condition number ≈ cond: columns that are nearly parallel. */
export function illConditioned(n: number, k: number, seed: number, overlap = 0.97): Matrix64 {
  const r = rng(seed);
  const base = Array.from({ length: n }, () => 0.5 + r());
  return mat(n, k, (i) => base[i]).data.length
    ? (() => {
        const D = mat(n, k, (i) => base[i]);
        for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) D.data[i * k + c] = overlap * base[i] + (1 - overlap) * r();
        return D;
      })()
    : mat(n, k, () => 0);
}

export const gauss = (n: number, centre: number, width: number, amp = 1) =>
  Float64Array.from({ length: n }, (_, j) => amp * Math.exp(-((j - centre) ** 2) / (2 * width * width)));

/**
 * A spectrum image with k overlapping Gaussian resonances and smooth, overlapping maps:
 * X = D H + noise, all ≥ 0.
 */
export function resonanceImage(o: { rows: number; cols: number; n: number; centres: number[]; width: number; noise: number; seed: number }) {
  const { rows, cols, n, centres, width, noise, seed } = o;
  const k = centres.length;
  const p = rows * cols;
  const r = rng(seed);
  const D = mat(n, k, (i, c) => gauss(n, centres[c], width, 100)[i] + 2);
  // blobs: each component has 3 Gaussian blobs; plus a weak floor
  const H = mat(k, p, () => 0);
  for (let c = 0; c < k; c++) {
    for (let b = 0; b < 3; b++) {
      const cy = r() * rows;
      const cx = r() * cols;
      const s = 2 + 3 * r();
      for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) H.data[c * p + y * cols + x] += Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * s * s));
    }
  }
  for (let j = 0; j < H.data.length; j++) H.data[j] = Math.min(H.data[j], 1) + 0.02;
  const Xc = product(D, H);
  const X = mat(n, p, (i, j) => Math.max(Xc.data[i * p + j] + noise * (r() - 0.5) * 2, 0));
  return { X, D, H, shape: { rows, cols } };
}
