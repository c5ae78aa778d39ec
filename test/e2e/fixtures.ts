/**
 * Fixtures and library reference results for the browser-app tests. run.mjs loads this file
 * through Vite's module runner (TypeScript, no build step): it writes small files of every format
 * the app reads, and computes with the library in Node what the app must show for the same input.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { fitSmoothNMF } from '../../src/estimator.js';
import { encodeNpy } from '../../src/io/npy.js';
import { makeSyntheticDataset } from '../../src/synth.js';
import type { SmoothNMFOptions } from '../../src/options.js';
import { makeHspy } from '../readers/make-h5.js';
import { encodeTiff } from '../readers/make-tiff.js';

export interface Fixture {
  /** File names as dropped (a ripple pair is two files). */
  files: string[];
  /** What the data table must show. */
  expect?: { pixels: string; channels: string; axis?: RegExp };
  /** The image-shape field to fill in first. */
  shape?: string;
  /** An error message the app must show instead. */
  error?: RegExp;
}

const ROWS = 24;
const COLS = 20;
const CHANNELS = 64;

/** Writes the fixtures into `dir`; returns them by name. `sharedDir`: the read-only real files, if present. */
export async function writeFixtures(dir: string, sharedDir: string): Promise<Record<string, Fixture>> {
  mkdirSync(dir, { recursive: true });
  const put = (name: string, bytes: Uint8Array | string) => writeFileSync(join(dir, name), bytes);
  const ds = makeSyntheticDataset({ rows: ROWS, cols: COLS, channels: CHANNELS, k: 3, seed: 1 });
  const p = ROWS * COLS;
  // rows × cols × channels (HyperSpy's EDX layout) from ESPM's channels × pixels.
  const cube = new Float32Array(p * CHANNELS);
  for (let px = 0; px < p; px++) for (let i = 0; i < CHANNELS; i++) cube[px * CHANNELS + i] = ds.X.data[i * p + px]!;
  const pixels = `${ROWS} × ${COLS} (rows × cols)`;
  const out: Record<string, Fixture> = {};

  put('cube.npy', encodeNpy({ shape: [ROWS, COLS, CHANNELS], data: cube }, { dtype: 'float32' }));
  out.npy3d = { files: ['cube.npy'], expect: { pixels, channels: String(CHANNELS) } };

  put('matrix.npy', encodeNpy({ shape: [CHANNELS, p], data: ds.X.data }, { dtype: 'float64' }));
  out.npy2d = { files: ['matrix.npy'], shape: `${ROWS} x ${COLS}`, expect: { pixels, channels: String(CHANNELS) } };
  out.npy2dNoShape = { files: ['matrix.npy'], error: /not a square image.*image shape/ };

  put(
    'synthetic.hspy',
    await makeHspy({
      shape: [ROWS, COLS, CHANNELS],
      data: cube,
      title: 'synthetic EDX',
      axes: [
        { name: 'y', size: ROWS, offset: 0, scale: 2.5, units: 'nm', navigate: true },
        { name: 'x', size: COLS, offset: 0, scale: 2.5, units: 'nm', navigate: true },
        { name: 'Energy', size: CHANNELS, offset: ds.energy.offset, scale: ds.energy.scale, units: 'keV', navigate: false },
      ],
    }),
  );
  out.hspy = { files: ['synthetic.hspy'], expect: { pixels, channels: String(CHANNELS), axis: /Energy: 64 points, 0\.2 to .* keV/ } };

  // Optical stack: one uint16 page per channel (cyx).
  const pages = Array.from({ length: CHANNELS }, (_, i) => ({
    width: COLS,
    height: ROWS,
    data: Array.from({ length: p }, (_, px) => Math.round(cube[px * CHANNELS + i]!)),
  }));
  put('stack.tif', encodeTiff(pages, { bits: 16 }));
  out.tiff = { files: ['stack.tif'], expect: { pixels, channels: String(CHANNELS) } };

  const rplHeader = [
    'key\tvalue',
    `width\t${COLS}`,
    `height\t${ROWS}`,
    `depth\t${CHANNELS}`,
    'offset\t0',
    'data-length\t2',
    'data-type\tunsigned',
    'byte-order\tlittle-endian',
    'record-by\tvector',
    'depth-name\tEnergy',
    `depth-origin\t${ds.energy.offset * 1000}`,
    `depth-scale\t${ds.energy.scale * 1000}`,
    'depth-units\teV',
    '',
  ].join('\n');
  const raw = new Uint8Array(p * CHANNELS * 2);
  const dv = new DataView(raw.buffer);
  cube.forEach((v, i) => dv.setUint16(i * 2, Math.round(v), true));
  put('pair.rpl', rplHeader);
  put('pair.raw', raw);
  out.ripple = { files: ['pair.rpl', 'pair.raw'], expect: { pixels, channels: String(CHANNELS), axis: /eV/ } };
  out.rippleAlone = { files: ['pair.rpl'], error: /drop it together with its \.raw/ };

  const zip = join(sharedDir, 'emd/velox_emd_version11.zip');
  if (existsSync(zip)) {
    put('velox.emd', unzipSync(new Uint8Array(readFileSync(zip)))['Test SI 16x16 215 kx.emd']!);
    out.emd = { files: ['velox.emd'], expect: { pixels: '16 × 16 (rows × cols)', channels: '4096', axis: /keV/ } };
  }
  const diffraction = join(sharedDir, 'hspy/example2_v3.1.hspy');
  if (existsSync(diffraction)) {
    put('diffraction.hspy', new Uint8Array(readFileSync(diffraction)));
    out.hspyImageSignal = { files: ['diffraction.hspy'], error: /2-D image signal/ };
  }

  // Corrupt files: a truncated HDF5, random bytes named .npy.
  const hspy = readFileSync(join(dir, 'synthetic.hspy'));
  put('truncated.hspy', hspy.subarray(0, Math.floor(hspy.length / 3)));
  out.truncated = { files: ['truncated.hspy'], error: /truncated\.hspy/ };
  put('garbage.npy', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251));
  out.garbage = { files: ['garbage.npy'], error: /garbage\.npy/ };
  // A TIFF whose page claims 32768 × 32768 pixels (a 4 GiB float32 cube) in a file of a few
  // hundred bytes: the app must refuse it with the size limit before allocating or decoding.
  put('huge.tif', claimPageSize(encodeTiff([{ width: 1, height: 1, data: [0] }], { bits: 8 }), 32768, 32768));
  out.hugeTiff = { files: ['huge.tif'], error: /huge\.tif \(its cube\) is 4\.00 GiB; the browser app reads files up to 1\.00 GiB/ };

  // Spectra for seeded NMF / fixed-spectra NNLS: the true spectra of the example, channels × k.
  const ex = exampleDataset();
  put('example_spectra.npy', encodeNpy({ shape: [ex.trueD.rows, ex.trueD.cols], data: ex.trueD.data }));
  writeFileSync(join(dir, 'example_G.csv'), csv(ex.G.rows, ex.G.cols, ex.G.data));
  return out;
}

const csv = (rows: number, cols: number, data: ArrayLike<number>) =>
  Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => data[i * cols + j]).join(',')).join('\n');

/** The app's example dataset (demo/src/worker.ts: loadExample with seed 0). */
export const exampleDataset = () => makeSyntheticDataset({ rows: 64, cols: 64, channels: 200, k: 3, seed: 0 });

/** The library's SmoothNMF on the example, with the options the app passes for the same form values. */
export async function referenceSmoothNMF(o: { k: number; lambda: number; mu: number; epsilonReg: number; simplex: 'h' | 'w' | 'none'; majorizer: 'tight' | 'espm'; maxIter: number; tol: number; normalize: boolean; seed: number; lossEvery: number }) {
  const ds = exampleDataset();
  const opts: SmoothNMFOptions = {
    components: o.k, lambda: o.lambda, mu: o.mu, epsilonReg: o.epsilonReg, simplex: o.simplex, majorizer: o.majorizer, shape: ds.shape,
    maxIter: o.maxIter, tol: o.tol, normalize: o.normalize, seed: o.seed, lossEvery: o.lossEvery, backend: 'cpu',
  };
  const r = await fitSmoothNMF(ds.X, opts);
  return { nIter: r.nIter, stopReason: r.stopReason, finalLoss: r.losses.at(-1)!.full };
}

/** A big uint16 cube (rows × cols × channels) for the load-time measurement, written in chunks. */
export function writeBigNpy(path: string, rows: number, cols: number, channels: number): number {
  const dict = `{'descr': '<u2', 'fortran_order': False, 'shape': (${rows}, ${cols}, ${channels}), }`;
  const len = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10; // header length incl. padding and newline
  const head = new Uint8Array(10 + len).fill(0x20);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, len & 255, len >> 8], 0);
  head.set(new TextEncoder().encode(dict), 10);
  head[head.length - 1] = 0x0a;
  const body = new Uint16Array(rows * cols * channels);
  let s = 12345;
  for (let i = 0; i < body.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    body[i] = (s >> 16) & 7;
  }
  const bytes = new Uint8Array(head.length + body.byteLength);
  bytes.set(head, 0);
  bytes.set(new Uint8Array(body.buffer), head.length);
  writeFileSync(path, bytes);
  return bytes.length;
}

/** Rewrites the first page's ImageWidth and ImageLength (LONG entries) of a little-endian TIFF. */
function claimPageSize(tiff: Uint8Array<ArrayBuffer>, width: number, height: number): Uint8Array<ArrayBuffer> {
  const dv = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const ifd = dv.getUint32(4, true);
  for (let i = 0; i < dv.getUint16(ifd, true); i++) {
    const at = ifd + 2 + i * 12;
    const tag = dv.getUint16(at, true);
    if (tag === 256) dv.setUint32(at + 8, width, true);
    if (tag === 257) dv.setUint32(at + 8, height, true);
  }
  return tiff;
}
