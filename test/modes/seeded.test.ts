/**
 * Seeded and random NNMF as modes (CPU reference): seeds, W-seed modes, the residual fallback,
 * the sampled-error stopping rule, and the central claim: on a spectrum image with overlapping
 * resonances, seeded NNMF started from the true spectra recovers them better (smaller spectral
 * angles after the best matching) than random NNMF.
 */
import { describe, expect, test } from 'vitest';
import { compareToTruth } from '../../src/metrics.js';
import { SampledErrorStop } from '../../src/modes/common.js';
import {
  fitNMF,
  fitSeededNMF,
  gaussianSpectrum,
  NMF,
  residualSpectrum,
  SeededNMF,
  wSeedMaps,
} from '../../src/modes/seeded.js';
import { WebnmfError } from '../../src/errors.js';
import { gauss, mat, resonanceImage } from './fixtures.js';

const img = resonanceImage({ rows: 16, cols: 16, n: 40, centres: [16, 20, 24], width: 3.5, noise: 4, seed: 3 });
const k = 3;

describe('seeds', () => {
  test('Gaussian resonance model on a calibrated axis', () => {
    const v = gaussianSpectrum([{ centre: 2900, width: 10, amplitude: 3 }], 30, { offset: 2800, scale: 5 });
    expect(v[20]).toBeCloseTo(3, 12); // ν = 2800 + 20·5 = 2900
    expect(v[22]).toBeCloseTo(3 * Math.exp(-0.5), 12); // one width away
  });

  test('bad seeds: wrong length, all zero, too many, Gaussian outside the axis', async () => {
    const base = { components: 3, backend: 'cpu' as const, maxIter: 5 };
    await expect(fitSeededNMF(img.X, { ...base, spectra: [new Float64Array(39)] })).rejects.toThrow(
      /spectrum seed 0 has 39 values but the data has 40 channels: resample/,
    );
    await expect(fitSeededNMF(img.X, { ...base, spectra: [null, new Float64Array(40)] })).rejects.toThrow(
      /spectrum seed 1 is all zero .*leave the seed out \(null\)/,
    );
    await expect(fitSeededNMF(img.X, { ...base, spectra: [null, null, null, null] })).rejects.toThrow(/4 spectrum seeds .*components = 3/);
    await expect(fitSeededNMF(img.X, { ...base, spectra: [{ centre: 1e6, width: 1 }] })).rejects.toThrow(/Gaussian lies outside/);
    await expect(fitSeededNMF(img.X, { ...base, components: 41 })).rejects.toThrow(/components = 41 exceeds .*min\(40, 256\) = 40/);
    await expect(fitSeededNMF(img.X, { ...base, maps: [new Float64Array(10)] })).rejects.toThrow(/map seed 0 has 10 values but the data has 256 pixels/);
    await expect(fitSeededNMF(img.X, { ...base, wSeed: 'nnls2' as never })).rejects.toBeInstanceOf(WebnmfError);
  });
});

describe('W-seed modes (definitions)', () => {
  const X = mat(3, 4, (i, j) => [[2, 0, 1, 0], [0, 2, 1, 0], [0, 0, 0, 0]][i][j]);
  const D = mat(3, 2, (i, c) => [[1, 0], [0, 1], [0, 0]][i][c]);
  test('nnls: per-pixel NNLS coefficients, unit maximum per map', async () => {
    const { H } = await wSeedMaps(X, D, 'nnls');
    expect(Array.from(H.data)).toEqual([1, 0, 0.5, 0, 0, 1, 0.5, 0].map((v) => expect.closeTo(v, 12)));
  });
  test('selective_score: projection × share of all projections', async () => {
    const { H } = await wSeedMaps(X, D, 'selective_score');
    // pixel 2: s = (1, 1) → each 1·1/2 = 0.5, max of row is 2 (pixel 0) → 0.25
    expect(H.data[2]).toBeCloseTo(0.25, 12);
    expect(H.data[0]).toBeCloseTo(1, 12);
    expect(H.data[1]).toBeCloseTo(0, 12);
  });
  test('h_weighted, average, empty; an all-zero map falls back to the average image', async () => {
    const hw = (await wSeedMaps(X, D, 'h_weighted')).H;
    expect(Array.from(hw.data.subarray(0, 4))).toEqual([1, 0, 0.5, 0]);
    const av = (await wSeedMaps(X, D, 'average')).H;
    expect(Array.from(av.data.subarray(0, 4))).toEqual([1, 1, 1, 0]);
    const em = (await wSeedMaps(X, D, 'empty')).H;
    expect(Array.from(em.data)).toEqual(new Array(8).fill(1));
    const D3 = mat(3, 2, (i, c) => [[1, 0], [0, 0], [0, 1]][i][c]); // second spectrum sees only the empty channel
    const z = await wSeedMaps(X, D3, 'nnls');
    expect(z.zeroRows).toEqual([1]);
    expect(Array.from(z.H.data.subarray(4, 8))).toEqual([1, 1, 1, 0]);
  });
});

describe('residual-based fallback', () => {
  test('a missing spectrum is found where the known basis leaves a residual', async () => {
    const known = [0, 1].map((c) => Float64Array.from({ length: 40 }, (_, i) => img.D.data[i * k + c]));
    const r = await residualSpectrum(img.X, known, { fallback: {}, seed: 0, backend: 'cpu' });
    expect(r.source).toBe('residual');
    const peak = r.spectrum.indexOf(Math.max(...r.spectrum));
    expect(Math.abs(peak - 24)).toBeLessThanOrEqual(2); // the third resonance (centre 24)
    expect(Math.min(...r.spectrum)).toBeGreaterThan(0); // clamped positive
    // rescaled to the median maximum of the known spectra
    expect(Math.max(...r.spectrum)).toBeCloseTo(Math.max(...known[0]), 6);
  });

  test('no usable residual → random smooth fallback with a warning', async () => {
    const X = mat(10, 20, (i) => gauss(10, 4, 1.5, 5)[i]); // exactly one spectrum
    const r = await fitSeededNMF(X, {
      components: 2,
      spectra: [gauss(10, 4, 1.5, 5), null],
      backend: 'cpu',
      maxIter: 20,
    });
    expect(r.spectrumSources).toEqual(['given', 'random']);
    expect(r.warnings.join(' ')).toMatch(/random smooth spectrum/);
  });
});

describe('seeded NNMF', () => {
  test('seeds are reported unlifted (zeros kept), maps at unit maximum, sources listed', async () => {
    const spectra = [0, 1, 2].map((c) => Float64Array.from({ length: 40 }, (_, i) => (i < 3 ? 0 : img.D.data[i * k + c])));
    const r = await fitSeededNMF(img.X, { components: 3, spectra, backend: 'cpu', maxIter: 30 });
    expect(r.D0.data[0]).toBe(0);
    expect(r.spectrumSources).toEqual(['given', 'given', 'given']);
    expect(r.mapSources).toEqual(['nnls', 'nnls', 'nnls']);
    for (let c = 0; c < 3; c++) expect(Math.max(...r.H0.data.subarray(c * 256, (c + 1) * 256))).toBeCloseTo(1, 12);
  });

  test('given maps are kept unless overwriteMaps', async () => {
    const map = Float64Array.from({ length: 256 }, (_, j) => (j % 7) + 1);
    const spectra = [{ centre: 16, width: 3.5, amplitude: 100 }, { centre: 20, width: 3.5, amplitude: 100 }, { centre: 24, width: 3.5, amplitude: 100 }];
    const a = await fitSeededNMF(img.X, { components: 3, spectra, maps: [map], backend: 'cpu', maxIter: 10 });
    expect(a.mapSources).toEqual(['given', 'nnls', 'nnls']);
    expect(Array.from(a.H0.data.subarray(0, 256))).toEqual(Array.from(map));
    expect(a.spectrumSources).toEqual(['gaussian', 'gaussian', 'gaussian']);
    const b = await fitSeededNMF(img.X, { components: 3, spectra, maps: [map], overwriteMaps: true, wSeed: 'selective_score', backend: 'cpu', maxIter: 10 });
    expect(b.mapSources).toEqual(['selective_score', 'selective_score', 'selective_score']);
  });

  test('seeded NNMF from the true spectra recovers them better than random NNMF (overlapping resonances)', async () => {
    const trueSpectra = [16, 20, 24].map((c) => ({ centre: c, width: 3.5, amplitude: 100 }));
    const seeded = await new SeededNMF({ components: 3, spectra: trueSpectra, backend: 'cpu', maxIter: 400, tol: 1e-6 }).fit(img.X);
    const angleSeeded = compareToTruth({ trueD: img.D, D: seeded.D }).meanAngle;
    const angles: number[] = [];
    for (const seed of [0, 1, 2]) {
      const rnd = await new NMF({ components: 3, backend: 'cpu', maxIter: 400, tol: 1e-6, seed }).fit(img.X);
      angles.push(compareToTruth({ trueD: img.D, D: rnd.D }).meanAngle);
    }
    // eslint-disable-next-line no-console
    console.log(`[modes] mean spectral angle: seeded ${angleSeeded.toFixed(2)}°, random NNMF ${angles.map((a) => a.toFixed(2)).join('°, ')}°`);
    for (const a of angles) expect(angleSeeded).toBeLessThan(a);
    expect(angleSeeded).toBeLessThan(5);
  });

  test('sampled-error stopping: stops when the relative improvement between samples ≤ tol', async () => {
    const r = await fitNMF(img.X, { components: 3, backend: 'cpu', tol: 1e-3, maxIter: 1000, lossEvery: 10 });
    expect(r.summary.stopReason).toBe('converged_sampled_error');
    const e = r.errors;
    const last = e.at(-1)!.error;
    const prev = e.at(-2)!.error;
    expect((prev - last) / prev).toBeLessThanOrEqual(1e-3);
    for (let i = 1; i < e.length - 1; i++) expect((e[i - 1].error - e[i].error) / e[i - 1].error).toBeGreaterThan(1e-3);
    expect(r.summary.iterations).toBe(e.at(-1)!.iteration);
    expect(r.summary.finalError).toBeGreaterThan(0);
    // patience 3 runs longer
    const r3 = await fitNMF(img.X, { components: 3, backend: 'cpu', tol: 1e-3, maxIter: 1000, patience: 3 });
    expect(r3.summary.iterations).toBeGreaterThanOrEqual(r.summary.iterations + 20);
  });

  test('SampledErrorStop: compares with the previous sample, patience counts consecutive samples', () => {
    const s = new SampledErrorStop({ tol: 0.1, patience: 2 });
    expect(s.push(100)).toBe(false);
    expect(s.push(95)).toBe(false); // 5 % ≤ 10 %: streak 1
    expect(s.push(50)).toBe(false); // big improvement: streak reset
    expect(s.push(49)).toBe(false);
    expect(s.push(48.9)).toBe(true);
  });

  test('KL loss and the engine rule are available; transform locks the spectra', async () => {
    const m = new SeededNMF({ components: 3, loss: 'kl', spectra: [16, 20, 24].map((c) => ({ centre: c, width: 3.5, amplitude: 100 })), backend: 'cpu', maxIter: 50, stopping: 'espm' });
    await m.fit(img.X);
    expect(m.summary.mode).toBe('seeded-nmf');
    const H2 = await m.transform(img.X);
    expect(H2.rows).toBe(3);
    expect(H2.cols).toBe(256);
  });
});
