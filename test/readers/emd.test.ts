import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { describeEmd, readEmd } from '../../src/io/readers/emd.js';
import { getDataset, getGroup, keysOf, readNumeric, withH5Bytes } from '../../src/io/readers/h5.js';
import { fixtureBytes } from './fixtures.js';

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);

const zip = unzipSync(fixtureBytes('emd/velox_emd_version11.zip'));
const SI = zip['Test SI 16x16 215 kx.emd']!;
const REDUCED = zip['Test SI 16x16 ReducedData 215 kx.emd']!;

describe('Velox .emd v11 — real RosettaSciIO fixture', () => {
  it('the zip holds the SI file and a pruned ReducedData file', () => {
    expect(Object.keys(zip).sort()).toEqual(['Test SI 16x16 215 kx.emd', 'Test SI 16x16 ReducedData 215 kx.emd']);
  });

  it('lists what the SI file holds: 5 images, 4 spectra, 4 two-frame streams, 1 compressed SI blob', async () => {
    const c = await describeEmd(SI, 'si.emd');
    expect(c.version).toBe('11');
    expect(c.images.map((i) => [i.title, i.shape])).toEqual([
      ['C', [16, 16, 1]], ['Ca', [16, 16, 1]], ['O', [16, 16, 1]], ['Cu', [16, 16, 1]], ['HAADF', [16, 16, 2]],
    ]);
    expect(c.spectra.map((s) => s.shape)).toEqual([[4096, 1], [4096, 1], [4096, 1], [4096, 1]]);
    expect(c.streams.map((s) => [s.values, s.frames, s.channels, s.detector])).toEqual([
      [12050, 2, 4096, 'SuperXG23'], [14457, 2, 4096, 'SuperXG21'], [6949, 2, 4096, 'SuperXG24'], [10689, 2, 4096, 'SuperXG22'],
    ]);
    expect(c.spectrumImages.map((s) => s.shape)).toEqual([[139017, 1]]);
  });

  it('decodes the streams into a 16 × 16 × 4096 count cube whose sum spectrum equals the stored spectra', async () => {
    const cube = await readEmd(SI, 'Test SI 16x16 215 kx.emd');
    // RosettaSciIO's test: s[-1].data.shape == (16, 16, 4096)
    expect([cube.rows, cube.cols, cube.channels, cube.slices]).toEqual([16, 16, 4096, undefined]);
    expect(cube.signalAxis).toEqual({ name: 'Energy', size: 4096, offset: -0.25, scale: 0.01, units: 'keV', navigate: false });
    expect(cube.navigationAxes.map((a) => [a.name, a.size, a.units])).toEqual([['y', 16, 'm'], ['x', 16, 'm']]);
    expect(cube.navigationAxes[1]!.scale).toBeCloseTo(3.5992e-9, 12);
    let total = 0;
    let nonCounts = 0;
    const sumSpectrum = new Float64Array(4096);
    for (let p = 0; p < 256; p++) for (let ch = 0; ch < 4096; ch++) {
      const v = cube.data[p * 4096 + ch]!;
      if (!(Number.isInteger(v) && v >= 0)) nonCounts++;
      total += v;
      sumSpectrum[ch]! += v;
    }
    expect(nonCounts).toBe(0);
    expect(total).toBe(42097); // X-ray events in the four streams (both frames)
    // Independent check: Velox's own per-detector sum spectra (Data/Spectrum) add up to the same spectrum.
    const stored = await withH5Bytes(SI, 'si.emd', (f) => {
      const g = getGroup(f, 'Data/Spectrum')!;
      const s = new Float64Array(4096);
      for (const k of keysOf(g)) readNumeric(getDataset(g, `${k}/Data`)!, 'si').forEach((v, i) => (s[i]! += v));
      return s;
    });
    expect(Array.from(sumSpectrum)).toEqual(Array.from(stored));
  });

  it('one detector, and frames stacked as slices', async () => {
    const one = await readEmd(SI, 'si.emd', { detector: 0 });
    expect(sum(one.data)).toBe(12050 - 512); // values minus 2 × 256 separators
    const stacked = await readEmd(SI, 'si.emd', { frames: 'stack' });
    expect([stacked.slices, stacked.rows, stacked.cols, stacked.channels]).toEqual([2, 16, 16, 4096]);
    expect(sum(stacked.data)).toBe(42097);
    await expect(readEmd(SI, 'si.emd', { detector: 4 })).rejects.toThrowError(/detector 4 does not exist; the file has 4 stream/);
  });

  it('the pruned ReducedData file has no stream: a clear error listing its contents', async () => {
    await expect(readEmd(REDUCED, 'Test SI 16x16 ReducedData 215 kx.emd')).rejects.toThrowError(
      /ReducedData 215 kx\.emd: the file holds no EDX spectrum stream .*5 image\(s\) \(C 16×16×1, Ca .*HAADF 16×16×1\).*SpectrumImage/,
    );
  });

  it('corrupt and truncated files', async () => {
    await expect(readEmd(SI.subarray(0, 100_000), 'cut.emd')).rejects.toThrowError(/cut\.emd: the HDF5 file is truncated: it has 100000 bytes but its superblock says 2023240/);
    await expect(readEmd(new Uint8Array(64), 'zeros.emd')).rejects.toThrowError(/zeros\.emd: not an HDF5 file/);
  });
});
