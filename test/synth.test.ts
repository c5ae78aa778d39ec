import { describe, expect, it } from 'vitest';
import { matmul } from '../src/cpu/linalg.js';
import { makeSyntheticDataset } from '../src/synth.js';

function columnSums(data: Float64Array, rows: number, cols: number): Float64Array {
  const s = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) s[j] += data[i * cols + j];
  return s;
}

describe('makeSyntheticDataset', () => {
  it('has the documented shapes with the defaults, and is fast', () => {
    const t0 = performance.now();
    const d = makeSyntheticDataset();
    const ms = performance.now() - t0;
    const n = 200;
    const p = 64 * 64;
    expect([d.X.rows, d.X.cols, d.Xdot.rows, d.Xdot.cols]).toEqual([n, p, n, p]);
    expect([d.G.rows, d.G.cols]).toEqual([n, 15]);
    expect([d.trueW.rows, d.trueW.cols]).toEqual([15, 3]);
    expect([d.trueD.rows, d.trueD.cols]).toEqual([n, 3]);
    expect([d.trueH.rows, d.trueH.cols]).toEqual([3, p]);
    expect(d.shape).toEqual({ rows: 64, cols: 64 });
    expect(d.energy.units).toBe('keV');
    expect(d.k).toBe(3);
    expect(d.seed).toBe(0);
    expect(d.hasBackground).toBe(false);
    // "Well under a second" for 64 × 64 × 200; generous for a loaded CI machine.
    expect(ms).toBeLessThan(1000);
  });

  it('is self-consistent: trueD = G trueW, Xdot = trueD trueH, X are non-negative integers', () => {
    const d = makeSyntheticDataset({ rows: 20, cols: 30, channels: 120, k: 4, gPeaks: 9, seed: 3 });
    const D = matmul(d.G, d.trueW);
    D.data.forEach((v, i) => expect(Math.abs(v - d.trueD.data[i])).toBeLessThan(1e-12 * Math.max(1, v)));
    const Xd = matmul(d.trueD, d.trueH);
    let worst = 0;
    Xd.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - d.Xdot.data[i]))));
    expect(worst).toBeLessThan(1e-10);
    expect(d.X.data.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
    expect(d.G.data.every((x) => x >= 0) && d.trueW.data.every((x) => x >= 0)).toBe(true);
  });

  it('has maps on the simplex with regions where each phase dominates', () => {
    const d = makeSyntheticDataset({ seed: 1 });
    const p = d.trueH.cols;
    const sums = columnSums(d.trueH.data, d.trueH.rows, p);
    for (let j = 0; j < p; j++) expect(Math.abs(sums[j] - 1)).toBeLessThan(1e-12);
    expect(d.trueH.data.every((x) => x >= 0 && x <= 1)).toBe(true);
    for (let c = 0; c < d.k; c++) {
      let dominant = 0;
      for (let j = 0; j < p; j++) if (d.trueH.data[c * p + j] > 0.9) dominant++;
      expect(dominant, `phase ${c}`).toBeGreaterThan(0.05 * p);
    }
  });

  it('has spectra summing to countsPerPixel and mean pixel counts ≈ countsPerPixel', () => {
    const counts = 300;
    const d = makeSyntheticDataset({ seed: 2, countsPerPixel: counts });
    const n = d.X.rows;
    const p = d.X.cols;
    for (const s of columnSums(d.trueD.data, n, d.k)) expect(s).toBeCloseTo(counts, 9);
    for (const s of columnSums(d.Xdot.data, n, p)) expect(Math.abs(s - counts)).toBeLessThan(1e-9);
    let total = 0;
    for (const x of d.X.data) total += x;
    // Total ~ Poisson(counts · p): standard error of the mean pixel sum is sqrt(counts / p) ≈ 0.27.
    expect(Math.abs(total / p - counts)).toBeLessThan(5 * Math.sqrt(counts / p));
  });

  it('gives each phase a distinct spectrum', () => {
    const d = makeSyntheticDataset({ seed: 4 });
    const k = d.k;
    const m = d.trueW.rows;
    for (let a = 0; a < k; a++) {
      for (let b = a + 1; b < k; b++) {
        let dotAB = 0;
        let aa = 0;
        let bb = 0;
        for (let i = 0; i < d.trueD.rows; i++) {
          const x = d.trueD.data[i * k + a];
          const y = d.trueD.data[i * k + b];
          dotAB += x * y;
          aa += x * x;
          bb += y * y;
        }
        const angle = (Math.acos(dotAB / Math.sqrt(aa * bb)) * 180) / Math.PI;
        expect(angle, `phases ${a} and ${b}`).toBeGreaterThan(30);
      }
      // Every phase owns at least ⌊m/k⌋ peaks.
      let owned = 0;
      for (let j = 0; j < m; j++) if (d.trueW.data[j * k + a] > 0) owned++;
      expect(owned).toBeGreaterThanOrEqual(Math.floor(m / k));
    }
  });

  it('puts peaks at spread energies inside the energy axis, narrower at low energy', () => {
    const d = makeSyntheticDataset({ seed: 5, channels: 400 });
    const eMax = d.energy.offset + d.energy.scale * 399;
    const e = Array.from(d.peakEnergies);
    expect(e.every((v) => v > d.energy.offset && v < eMax)).toBe(true);
    const sorted = [...e].sort((a, b) => a - b);
    for (let j = 1; j < sorted.length; j++) expect(sorted[j] - sorted[j - 1]).toBeGreaterThan(0.1);
    // Width of a G column: its standard deviation in keV.
    const width = (j: number): number => {
      let mean = 0;
      let v = 0;
      for (let i = 0; i < d.G.rows; i++) mean += d.G.data[i * d.G.cols + j] * (d.energy.offset + d.energy.scale * i);
      for (let i = 0; i < d.G.rows; i++) v += d.G.data[i * d.G.cols + j] * (d.energy.offset + d.energy.scale * i - mean) ** 2;
      return Math.sqrt(v);
    };
    const lowest = e.indexOf(sorted[0]);
    const highest = e.indexOf(sorted[sorted.length - 1]);
    expect(width(lowest)).toBeLessThan(width(highest));
    // About 130 eV FWHM at Mn Kα: σ between 20 and 90 eV for every peak here.
    for (let j = 0; j < e.length; j++) {
      expect(width(j)).toBeGreaterThan(0.02);
      expect(width(j)).toBeLessThan(0.09);
    }
    for (const s of columnSums(d.G.data, d.G.rows, d.G.cols)) expect(s).toBeCloseTo(1, 12);
  });

  it('adds a smooth background column when asked', () => {
    const d = makeSyntheticDataset({ seed: 6, background: 0.2 });
    expect(d.hasBackground).toBe(true);
    expect([d.G.rows, d.G.cols, d.trueW.rows]).toEqual([200, 16, 16]);
    const m = d.G.cols;
    for (let c = 0; c < d.k; c++) expect(d.trueW.data[15 * d.k + c]).toBeCloseTo(0.2 * 300, 9);
    // Continuum: positive over most of the axis, decreasing at high energy.
    const bg = Array.from({ length: 200 }, (_, i) => d.G.data[i * m + 15]);
    expect(bg[100]).toBeGreaterThan(bg[190]);
    expect(bg.filter((v) => v > 0).length).toBeGreaterThan(150);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const opts = { rows: 16, cols: 12, channels: 50, seed: 9 };
    const a = makeSyntheticDataset(opts);
    const b = makeSyntheticDataset(opts);
    const c = makeSyntheticDataset({ ...opts, seed: 10 });
    expect(Array.from(a.X.data)).toEqual(Array.from(b.X.data));
    expect(Array.from(a.trueH.data)).toEqual(Array.from(b.trueH.data));
    expect(Array.from(a.X.data)).not.toEqual(Array.from(c.X.data));
    expect(Array.from(a.trueW.data)).not.toEqual(Array.from(c.trueW.data));
  });

  it('makes smoother maps for a larger length scale', () => {
    // Mean squared difference between horizontal neighbours of the maps.
    const roughness = (smoothness: number): number => {
      const d = makeSyntheticDataset({ seed: 7, smoothness, channels: 20 });
      const { rows, cols } = d.shape;
      let s = 0;
      for (let c = 0; c < d.k; c++) {
        for (let r = 0; r < rows; r++) {
          for (let x = 1; x < cols; x++) s += (d.trueH.data[c * rows * cols + r * cols + x] - d.trueH.data[c * rows * cols + r * cols + x - 1]) ** 2;
        }
      }
      return s;
    };
    expect(roughness(8)).toBeLessThan(roughness(2));
  });

  it('rejects bad options', () => {
    expect(() => makeSyntheticDataset({ k: 5, gPeaks: 4 })).toThrow(/gPeaks/);
    expect(() => makeSyntheticDataset({ rows: 0 })).toThrow(/rows/);
    expect(() => makeSyntheticDataset({ countsPerPixel: -1 })).toThrow(/countsPerPixel/);
    expect(() => makeSyntheticDataset({ background: 1 })).toThrow(/background/);
  });
});
