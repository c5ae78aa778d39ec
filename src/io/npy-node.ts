/** Node file helpers for .npy (kept apart from npy.ts so the browser bundle never sees node:fs). */
import * as fs from 'node:fs';
import { WebnmfError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { encodeNpy, parseNpy, type NpyArray, type NpyEncodeOptions, type NpyWritable } from './npy.js';

/** Reads a whole file; a failure is a WebnmfError ('input') that names the file and the reason. */
export function readFileBytes(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory, not a file'
          : code === 'EACCES'
            ? 'permission denied'
            : String((e as Error).message ?? e);
    throw new WebnmfError('input', `cannot read '${file}': ${why}. Check the path.`);
  }
}

/** Reads and parses a .npy file; errors (WebnmfError 'input') name the file. */
export function readNpyFile(file: string): NpyArray {
  return parseNpy(readFileBytes(file), file);
}

/** Writes an array as .npy (float64 or float32, little endian, C order), atomically. */
export function writeNpyFile(file: string, arr: NpyWritable, options: NpyEncodeOptions = {}): void {
  writeFileAtomic(file, encodeNpy(arr, options));
}
