/**
 * `readCube`: one entry point for every spectrum-image format webnmf reads, dispatching on the
 * file's magic bytes first and its extension second. Pure (bytes in, Cube out): safe for the
 * browser bundle. Node's `readCubeFile(path)` is in node.ts.
 *
 * | format | extensions | detected by |
 * |---|---|---|
 * | NumPy | .npy | `\x93NUMPY` (3-D rows × cols × channels, 4-D slices × rows × cols × channels, 1-D one spectrum) |
 * | HyperSpy | .hspy, .hdf5, .h5 | HDF5 signature + Experiments group |
 * | Velox | .emd | HDF5 signature + Data group / Version |
 * | TIFF stack | .tif, .tiff | `II*\0` / `MM\0*` |
 * | Lispix ripple | .rpl + .raw | extension (text header; needs the .raw as `options.raw`) |
 */
import { WebnmfError } from '../../errors.js';
import { hasNpyMagic, parseNpy } from '../npy.js';
import { asBytes, baseName, checkCube, extensionOf, indexAxis, type Bytes, type Cube } from './cube.js';
import { readEmdFromH5, isVelox, type EmdReadOptions } from './emd.js';
import { canMountFiles, hdf5SignatureOffset, keysOf, withH5Bytes, withH5File, type H5File } from './h5.js';
import { isHspy, readHspyFromH5, type HspyReadOptions } from './hspy.js';
import { readRpl, rplRawName } from './rpl.js';
import { readTiffStack, readTiffStackFromBlob, type TiffReadOptions } from './tiff.js';

export type { Axis, Cube, CubeToMatrixOptions } from './cube.js';
export { cubeToMatrix, checkCube, shapeString } from './cube.js';
export { readRpl, parseRplHeader, rplRawName } from './rpl.js';
export { readHspy, readHspyFromH5, describeHspy } from './hspy.js';
export { readEmd, readEmdFromH5, describeEmd, type EmdContents } from './emd.js';
export { readTiffStack, readTiffStackFromBlob, parseImageJDescription } from './tiff.js';
export { withH5Bytes, withH5File, withH5Path } from './h5.js';
export type { HspyReadOptions, EmdReadOptions, TiffReadOptions };

export interface ReadCubeOptions extends HspyReadOptions, EmdReadOptions, TiffReadOptions {
  /** For a .rpl header: the bytes of its .raw binary. */
  raw?: Bytes;
  /** For a .rpl header: the .raw file's name (for messages). */
  rawName?: string;
}

export const SUPPORTED_FORMATS =
  'NumPy .npy (3-D rows × cols × channels), HyperSpy .hspy/.hdf5, Velox .emd (EDX spectrum streams), ' +
  'multi-page TIFF stacks (.tif/.tiff) and Lispix ripple .rpl + .raw pairs';

export type CubeFormat = 'npy' | 'hdf5' | 'tiff' | 'rpl' | 'unknown';

/** The format the bytes (or, failing that, the name) indicate. */
export function sniffFormat(bytes: Uint8Array, fileName: string): CubeFormat {
  const b = bytes;
  if (hasNpyMagic(b)) return 'npy';
  if (hdf5SignatureOffset(b) >= 0) return 'hdf5';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))) return 'tiff';
  const ext = extensionOf(fileName);
  if (ext === 'rpl') return 'rpl';
  return 'unknown';
}

/**
 * Reads a spectrum image from a file's bytes. `fileName` picks messages and, where the bytes
 * do not say, the format. Throws WebnmfError('input') for unknown, corrupt or unsupported files.
 */
export async function readCube(bytes: Bytes, fileName: string, options: ReadCubeOptions = {}): Promise<Cube> {
  const name = baseName(fileName);
  const u8 = asBytes(bytes);
  const ext = extensionOf(name);
  const format = sniffFormat(u8, name);
  switch (format) {
    case 'npy':
      return npyCube(u8, name);
    case 'tiff':
      return readTiffStack(u8, name, options);
    case 'rpl': {
      if (!options.raw) {
        throw new WebnmfError(
          'usage',
          `${name}: a ripple header needs its binary: pass the bytes of ${rplRawName(name)} as { raw } ` +
            '(readCubeFile in Node finds it beside the .rpl).',
        );
      }
      return readRpl(u8, options.raw, name, options.rawName ? { rawName: options.rawName } : {});
    }
    case 'hdf5':
      return withH5Bytes(u8, name, (f) => hdf5Cube(f, name, options));
    default: {
      const expected: Record<string, string> = {
        npy: 'a .npy file starts with \\x93NUMPY',
        hspy: 'a .hspy file is HDF5 and starts with \\x89HDF\\r\\n\\x1a\\n',
        hdf5: 'an .hdf5 file starts with \\x89HDF\\r\\n\\x1a\\n',
        h5: 'an .h5 file starts with \\x89HDF\\r\\n\\x1a\\n',
        emd: 'a Velox .emd file is HDF5 and starts with \\x89HDF\\r\\n\\x1a\\n',
        tif: "a TIFF starts with II*\\0 or MM\\0*",
        tiff: "a TIFF starts with II*\\0 or MM\\0*",
      };
      if (ext === 'raw') {
        throw new WebnmfError(
          'usage',
          `${name}: a .raw is the binary half of a Lispix ripple pair; open its .rpl header (with the .raw as { raw }).`,
        );
      }
      if (u8.length === 0) throw new WebnmfError('input', `${name}: the file is empty.`);
      throw new WebnmfError(
        'input',
        expected[ext]
          ? `${name}: the file does not start like its extension says (${expected[ext]}); it is corrupt, truncated or mislabelled.`
          : `${name}: unknown file format${ext ? ` '.${ext}'` : ''}. webnmf reads ${SUPPORTED_FORMATS}.`,
      );
    }
  }
}

/** The cube in an open HDF5 file: HyperSpy or Velox. */
function hdf5Cube(f: H5File, name: string, options: ReadCubeOptions): Cube {
  if (isHspy(f)) return readHspyFromH5(f, name, options);
  if (isVelox(f)) return readEmdFromH5(f, name, options);
  throw new WebnmfError(
    'input',
    `${name}: an HDF5 file that is neither HyperSpy (no Experiments group) nor Velox (no Data group); ` +
      `its top-level entries are ${keysOf(f).join(', ') || 'none'}. webnmf reads ${SUPPORTED_FORMATS}.`,
  );
}

/**
 * Reads a browser File without a copy of the whole file in memory where the format allows:
 * TIFF stacks page by page (range reads through File.slice, anywhere), and in a Web Worker HDF5
 * files (.hspy, .emd) in place through a WORKERFS mount. Everything else is read as bytes.
 */
export async function readCubeFromFile(file: File, options: ReadCubeOptions = {}): Promise<Cube> {
  const name = baseName(file.name);
  const head = new Uint8Array(await file.slice(0, 4096).arrayBuffer());
  const format = sniffFormat(head, name);
  if (format === 'tiff') return readTiffStackFromBlob(file, name, options);
  if (format === 'hdf5' && canMountFiles()) return withH5File(file, (f) => hdf5Cube(f, name, options));
  return readCube(new Uint8Array(await file.arrayBuffer()), file.name, options);
}

/** Whether readCubeFromFile reads this file (its first 4 KiB given) without a full copy in memory. */
export function readsInPlace(head: Uint8Array, fileName: string): boolean {
  const format = sniffFormat(head, baseName(fileName));
  return format === 'tiff' || (format === 'hdf5' && canMountFiles());
}

/** A .npy array as a cube: 3-D rows × cols × channels, 4-D slices × rows × cols × channels, 1-D one spectrum. */
export function npyCube(bytes: Uint8Array, name: string): Cube {
  const arr = parseNpy(bytes, name);
  const s = arr.shape;
  let slices: number | undefined;
  let rows: number;
  let cols: number;
  let channels: number;
  if (s.length === 3) [rows, cols, channels] = s as [number, number, number];
  else if (s.length === 4) [slices, rows, cols, channels] = s as [number, number, number, number];
  else if (s.length === 1) [rows, cols, channels] = [1, 1, s[0]!];
  else {
    throw new WebnmfError(
      'input',
      `${name}: a .npy spectrum image must be 3-D (rows, cols, channels) or 4-D (slices, rows, cols, channels); ` +
        `this array has shape (${s.join(', ')}). Reshape it in numpy (e.g. X.T.reshape(rows, cols, channels) for a ` +
        'channels × pixels matrix) and save again.',
    );
  }
  const navigationAxes = [indexAxis('y', rows, true), indexAxis('x', cols, true)];
  if (slices !== undefined) navigationAxes.unshift(indexAxis('z', slices, true));
  return checkCube({
    data: arr.data,
    rows,
    cols,
    channels,
    ...(slices !== undefined ? { slices } : {}),
    signalAxis: indexAxis('channel', channels, false),
    navigationAxes,
    source: name,
    metadata: { format: 'npy', dtype: arr.dtype },
  });
}
