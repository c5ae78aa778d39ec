/**
 * Node file helpers for the readers (kept apart so the browser bundle never sees node:fs).
 * `readCubeFile(path)` reads any supported file; for a Lispix ripple pair it takes either the
 * .rpl or the .raw and finds the other beside it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WebnmfError } from '../../errors.js';
import { readFileBytes } from '../npy-node.js';
import { readCube, readTiffStackFromBlob, sniffFormat, type ReadCubeOptions } from './index.js';
import type { Cube } from './cube.js';

const readBytes = readFileBytes;

/** The sibling with another extension, matching an existing file case-insensitively. */
function sibling(file: string, ext: string): string | undefined {
  const dir = path.dirname(file);
  const stem = path.basename(file).replace(/\.[^.]*$/, '');
  const direct = path.join(dir, `${stem}.${ext}`);
  if (fs.existsSync(direct)) return direct;
  try {
    const hit = fs.readdirSync(dir).find((n) => n.toLowerCase() === `${stem}.${ext}`.toLowerCase());
    return hit ? path.join(dir, hit) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a spectrum-image file from disk (see readCube for the formats). */
export async function readCubeFile(file: string, options: ReadCubeOptions = {}): Promise<Cube> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.rpl' || ext === '.raw') {
    const rpl = ext === '.rpl' ? file : sibling(file, 'rpl');
    const raw = ext === '.raw' ? file : sibling(file, 'raw');
    if (!rpl || !raw) {
      throw new WebnmfError(
        'input',
        `${path.basename(file)}: a Lispix ripple file needs both halves, the .rpl header and the .raw binary, ` +
          `side by side with the same name; ${ext === '.rpl' ? 'the .raw' : 'the .rpl'} is missing in ${path.dirname(file)}.`,
      );
    }
    if (!options.raw) {
      return readCube(readBytes(rpl), path.basename(rpl), { ...options, raw: readBytes(raw), rawName: path.basename(raw) });
    }
    return readCube(readBytes(rpl), path.basename(rpl), options);
  }
  // A TIFF stack is read page by page through range reads (no copy of the whole file in memory).
  if (sniffFormat(head(file), path.basename(file)) === 'tiff') {
    return readTiffStackFromBlob(await fs.openAsBlob(file), path.basename(file), options);
  }
  return readCube(readBytes(file), path.basename(file), options);
}

/** The first 4 KiB of a file (enough to tell its format); the full read reports missing files. */
function head(file: string): Uint8Array {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const buf = new Uint8Array(4096);
    return buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0));
  } catch {
    return new Uint8Array(0);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
