/**
 * The mode subcommands end to end, in-process on the CPU backend: files written atomically with
 * the documented shapes, report.json with the fit summary, and clear usage/input errors.
 */
import { afterAll, describe, expect, test } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main.js';
import { parseGaussians } from '../../src/cli/modes.js';
import { encodeNpy, parseNpy } from '../../src/io/npy.js';
import { resonanceImage } from './fixtures.js';

class Sink {
  text = '';
  isTTY = false;
  write = (s: string) => {
    this.text += s;
    return true;
  };
}
async function run(argv: string[]) {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await main(argv, { stdout, stderr, env: {}, signal: new AbortController().signal });
  return { code, out: stdout.text, err: stderr.text };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webnmf-modes-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const img = resonanceImage({ rows: 8, cols: 10, n: 24, centres: [8, 12, 16], width: 2.5, noise: 1, seed: 2 });
const xFile = path.join(tmp, 'X.npy');
fs.writeFileSync(xFile, encodeNpy({ shape: [24, 80], data: img.X.data }));
const dFile = path.join(tmp, 'D.npy');
fs.writeFileSync(dFile, encodeNpy({ shape: [24, 3], data: img.D.data }));
const dtFile = path.join(tmp, 'Dt.npy');
const Dt = new Float64Array(72);
for (let i = 0; i < 24; i++) for (let c = 0; c < 3; c++) Dt[c * 24 + i] = img.D.data[i * 3 + c];
fs.writeFileSync(dtFile, encodeNpy({ shape: [3, 24], data: Dt }));
// a 4-D stack: 2 slices × 8 × 10 × 24
const x4File = path.join(tmp, 'X4.npy');
const d4 = new Float64Array(2 * 80 * 24);
for (let z = 0; z < 2; z++) for (let pix = 0; pix < 80; pix++) for (let ch = 0; ch < 24; ch++) d4[(z * 80 + pix) * 24 + ch] = img.X.data[ch * 80 + pix] * (1 + z);
fs.writeFileSync(x4File, encodeNpy({ shape: [2, 8, 10, 24], data: d4 }));

const readNpy = (f: string) => parseNpy(new Uint8Array(fs.readFileSync(f)), f);
const report = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'));

describe('webnmf pca | nnls | nmf | seeded', () => {
  test('pca writes loadings, scores, variances and the scree', async () => {
    const out = path.join(tmp, 'pca');
    const r = await run(['pca', xFile, '--components', '3', '--backend', 'cpu', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(readNpy(path.join(out, 'loadings.npy')).shape).toEqual([24, 3]);
    expect(readNpy(path.join(out, 'scores.npy')).shape).toEqual([3, 80]);
    expect(readNpy(path.join(out, 'scree.npy')).shape).toEqual([24]);
    expect(report(out).result.summary.mode).toBe('pca');
  });

  test('nnls recovers the maps of noiseless-ish data; per-chunk counts in the report', async () => {
    const out = path.join(tmp, 'nnls');
    const r = await run(['nnls', xFile, '--spectra', dFile, '--backend', 'cpu', '--solver', 'fista', '--chunk-pixels', '32', '--tol', '1e-8', '--max-iter', '20000', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const H = readNpy(path.join(out, 'H.npy'));
    expect(H.shape).toEqual([3, 80]);
    const rep = report(out);
    expect(rep.result.summary.chunkIterations).toHaveLength(3);
    expect(rep.result.summary.maxChunkIterations).toBe(Math.max(...rep.result.summary.chunkIterations));
    expect(r.out).toMatch(/nnls: max \d+ iterations over 3 chunk/);
  });

  test('nnls on a 4-D stack batches the slices: H is slices × k × pixels', async () => {
    const out = path.join(tmp, 'nnls4');
    const r = await run(['nnls', x4File, '--spectra', dFile, '--backend', 'cpu', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const H = readNpy(path.join(out, 'H.npy'));
    expect(H.shape).toEqual([2, 3, 80]);
    // slice 1 is slice 0 × 2: its maps are twice as large (NNLS is linear in x when no constraint is active)
    for (let i = 0; i < 240; i++) expect(H.data[240 + i]).toBeCloseTo(2 * H.data[i], 6);
  });

  test('seeded with Gaussians, and fast multislice on a 4-D stack', async () => {
    const out = path.join(tmp, 'seeded');
    const r = await run(['seeded', xFile, '--components', '3', '--gaussians', '8:2.5:100,12:2.5:100', '--backend', 'cpu', '--max-iter', '50', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(report(out).result.spectrumSources).toEqual(['gaussian', 'gaussian', 'residual']);
    expect(readNpy(path.join(out, 'H0.npy')).shape).toEqual([3, 80]);
    const out4 = path.join(tmp, 'seeded4');
    const r4 = await run(['seeded', x4File, '--components', '3', '--spectra', dFile, '--backend', 'cpu', '--max-iter', '30', '--out', out4]);
    expect(r4.code, r4.err).toBe(0);
    expect(readNpy(path.join(out4, 'H.npy')).shape).toEqual([2, 3, 80]);
    expect(report(out4).result.sliceIterations).toHaveLength(2);
  });

  test('nmf runs random NNMF with the sampled rule', async () => {
    const out = path.join(tmp, 'nmf');
    const r = await run(['nmf', xFile, '--components', '3', '--backend', 'cpu', '--tol', '1e-2', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(report(out).result.summary.stopReason).toBe('converged_sampled_error');
  });

  test('errors: transposed spectra, missing --spectra, bad --gaussians, unknown flag', async () => {
    const a = await run(['nnls', xFile, '--spectra', dtFile, '--backend', 'cpu', '--out', path.join(tmp, 'bad1')]);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/components × channels, but webnmf expects channels × components \(24 × 3\)\. Save the transpose/);
    expect(fs.existsSync(path.join(tmp, 'bad1'))).toBe(false);
    const b = await run(['nnls', xFile]);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--spectra D.npy is required/);
    expect(() => parseGaussians('8:x')).toThrow(/CENTRE:WIDTH/);
    const c = await run(['pca', xFile, '--components', '3', '--scalling', 'none']);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/Did you mean '--scaling'/);
    const h = await run(['seeded', '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/--w-seed nnls\|selective_score\|h_weighted\|average\|empty/);
  });
});
