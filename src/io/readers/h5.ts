/**
 * HDF5 access through h5wasm, shared by the HyperSpy and Velox readers.
 *
 * The plain `h5wasm` entry (its ESM build, with the WebAssembly inlined and an in-memory
 * Emscripten file system) works the same in browsers and in Node, so the readers use it in both;
 * `h5wasm/node` would instead map the host file system (NODERAWFS), which a browser bundle cannot
 * load. Bytes are written to h5wasm's MEMFS under a unique name, opened read-only, and removed
 * afterwards: the whole file is in memory twice while it is read.
 *
 * Large files in a browser: read them in a Web Worker without copying, by mounting the File
 * with WORKERFS and handing the mounted path to `withH5Path`:
 *
 * `withH5File(file, fn)` does exactly that (see `readCubeFromFile` in index.ts, used by the app).
 * (WORKERFS is synchronous random access via FileReaderSync, hence worker-only.)
 *
 * h5wasm (a few MB with its inlined WebAssembly) is imported lazily on the first HDF5 read, so
 * bundlers split it out and .npy/.tif/.rpl users never download it.
 */
import type { Dataset as H5Dataset, File as H5File, Group as H5Group } from 'h5wasm';
import { WebnmfError } from '../../errors.js';
import { asBytes, toCubeData, type Bytes } from './cube.js';

export type { H5Dataset, H5File, H5Group };

interface MemFs {
  writeFile(path: string, data: Uint8Array): void;
  unlink(path: string): void;
  mkdir(path: string): void;
  rmdir(path: string): void;
  mount(type: unknown, opts: { files: File[] }, mountpoint: string): void;
  unmount(mountpoint: string): void;
  filesystems: { WORKERFS: unknown };
}

type H5Lib = (typeof import('h5wasm'))['default'];

let fsPromise: Promise<MemFs> | undefined;
let lib: H5Lib | undefined;
let counter = 0;

async function memfs(): Promise<MemFs> {
  fsPromise ??= import('h5wasm').then(async (m) => {
    const mod = await m.default.ready;
    lib = m.default;
    return (mod as unknown as { FS: MemFs }).FS;
  });
  return fsPromise;
}

/** The loaded library (every caller runs after memfs() resolved). */
function h5(): H5Lib {
  if (!lib) throw new Error('h5wasm is not loaded yet');
  return lib;
}

/** The HDF5 signature, at offset 0 or (after a user block) 512, 1024, 2048, … */
export function hdf5SignatureOffset(bytes: Uint8Array): number {
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  for (let off = 0; off + 8 <= bytes.length; off = off === 0 ? 512 : off * 2) {
    if (sig.every((b, i) => bytes[off + i] === b)) return off;
  }
  return -1;
}

/**
 * The file size the HDF5 superblock declares (base address + end-of-file address), or undefined
 * when the superblock cannot be parsed; lets a truncated copy be reported as such.
 */
export function hdf5DeclaredSize(bytes: Uint8Array, sigOffset: number): number | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[sigOffset + 8];
  let sizeOfOffsets: number | undefined;
  let at: number;
  if (version === 0 || version === 1) {
    sizeOfOffsets = bytes[sigOffset + 13];
    at = sigOffset + 24 + (version === 1 ? 4 : 0);
  } else if (version === 2 || version === 3) {
    sizeOfOffsets = bytes[sigOffset + 9];
    at = sigOffset + 12;
  } else return undefined;
  if (sizeOfOffsets !== 8 && sizeOfOffsets !== 4) return undefined;
  const read = (o: number) => (sizeOfOffsets === 8 ? Number(dv.getBigUint64(o, true)) : dv.getUint32(o, true));
  if (at + 3 * sizeOfOffsets > bytes.length) return undefined;
  const base = read(at);
  const eof = read(at + 2 * sizeOfOffsets);
  return Number.isSafeInteger(base + eof) ? base + eof : undefined;
}

/** Opens HDF5 bytes in h5wasm's memory file system, runs `fn`, closes and removes the file. */
export async function withH5Bytes<T>(bytes: Bytes, name: string, fn: (f: H5File) => T | Promise<T>): Promise<T> {
  const u8 = asBytes(bytes);
  if (hdf5SignatureOffset(u8) < 0) {
    throw new WebnmfError(
      'input',
      `${name}: not an HDF5 file (no HDF5 signature \\x89HDF\\r\\n\\x1a\\n); .hspy, .hdf5 and .emd files ` +
        'are HDF5 — the file is corrupt, truncated at the start, or another format with this extension.',
    );
  }
  const declared = hdf5DeclaredSize(u8, hdf5SignatureOffset(u8));
  if (declared !== undefined && declared > u8.length) {
    throw new WebnmfError(
      'input',
      `${name}: the HDF5 file is truncated: it has ${u8.length} bytes but its superblock says ${declared}. ` +
        'Copy the file again (the transfer or the save was interrupted).',
    );
  }
  const fs = await memfs();
  const path = `/webnmf-${++counter}-${Date.now()}.h5`;
  fs.writeFile(path, u8);
  try {
    return await withH5Path(path, name, fn);
  } finally {
    try {
      fs.unlink(path);
    } catch {
      // already gone
    }
  }
}

/** Whether this context can read a File in place (a Web Worker: WORKERFS needs FileReaderSync). */
export const canMountFiles = (): boolean => typeof (globalThis as { FileReaderSync?: unknown }).FileReaderSync !== 'undefined';

/**
 * In a Web Worker: opens a browser File through a WORKERFS mount, so HDF5 reads the parts it
 * needs straight from the file (no copy of the file in memory), then unmounts it.
 */
export async function withH5File<T>(file: File, fn: (f: H5File) => T | Promise<T>): Promise<T> {
  const head = new Uint8Array(await file.slice(0, 4096).arrayBuffer());
  const sig = hdf5SignatureOffset(head);
  const declared = sig >= 0 ? hdf5DeclaredSize(head, sig) : undefined;
  if (declared !== undefined && declared > file.size) {
    throw new WebnmfError(
      'input',
      `${file.name}: the HDF5 file is truncated: it has ${file.size} bytes but its superblock says ${declared}. ` +
        'Copy the file again (the transfer or the save was interrupted).',
    );
  }
  const fs = await memfs();
  const dir = `/webnmf-mount-${++counter}`;
  fs.mkdir(dir);
  fs.mount(fs.filesystems.WORKERFS, { files: [file] }, dir);
  try {
    return await withH5Path(`${dir}/${file.name}`, file.name, fn);
  } finally {
    try {
      fs.unmount(dir);
      fs.rmdir(dir);
    } catch {
      // already gone
    }
  }
}

/** Opens a file already in h5wasm's file system (MEMFS, or a WORKERFS mount in a worker). */
export async function withH5Path<T>(path: string, name: string, fn: (f: H5File) => T | Promise<T>): Promise<T> {
  await memfs();
  let f: H5File;
  try {
    f = new (h5().File)(path, 'r');
  } catch (e) {
    throw new WebnmfError(
      'input',
      `${name}: HDF5 could not open the file (${(e as Error).message ?? e}); it is corrupt or truncated. ` +
        'Copy it again from the instrument PC or re-save it.',
    );
  }
  if (!f.file_id || f.file_id < 0n) {
    throw new WebnmfError('input', `${name}: HDF5 could not open the file; it is corrupt or truncated.`);
  }
  try {
    return await fn(f);
  } finally {
    f.close();
  }
}

export function isGroup(e: unknown): e is H5Group {
  return e instanceof h5().Group;
}

export function isDataset(e: unknown): e is H5Dataset {
  return e instanceof h5().Dataset;
}

/** `group.get(path)` that never throws: undefined when absent or unreadable. */
export function getEntity(g: H5Group, path: string): unknown {
  try {
    return g.get(path) ?? undefined;
  } catch {
    return undefined;
  }
}

export function getGroup(g: H5Group, path: string): H5Group | undefined {
  const e = getEntity(g, path);
  return isGroup(e) ? e : undefined;
}

export function getDataset(g: H5Group, path: string): H5Dataset | undefined {
  const e = getEntity(g, path);
  return isDataset(e) ? e : undefined;
}

/** An attribute's value as a plain JS value (bigint → number, 1-element arrays unwrapped). */
export function attr(g: H5Group | H5Dataset, key: string): unknown {
  let a;
  try {
    a = g.attrs[key];
  } catch {
    return undefined;
  }
  if (!a) return undefined;
  let v: unknown;
  try {
    v = a.value;
  } catch {
    return undefined;
  }
  return plain(v);
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const arr = Array.from(v as unknown as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : x));
    return arr.length === 1 ? arr[0] : arr;
  }
  if (Array.isArray(v)) return v.length === 1 ? plain(v[0]) : v.map(plain);
  return v;
}

/** All attributes of a group as plain values. */
export function attrs(g: H5Group | H5Dataset): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let keys: string[] = [];
  try {
    keys = Object.keys(g.attrs);
  } catch {
    return out;
  }
  for (const k of keys) out[k] = attr(g, k);
  return out;
}

export function keysOf(g: H5Group): string[] {
  try {
    return g.keys();
  } catch {
    return [];
  }
}

/** Reads a numeric dataset (or a hyperslab of it) into float32/float64, with a clear error. */
export function readNumeric(
  ds: H5Dataset,
  name: string,
  ranges?: Array<[number, number] | []>,
): Float32Array | Float64Array {
  const meta = ds.metadata;
  // type classes: 0 integer, 1 float
  if (meta.type !== 0 && meta.type !== 1) {
    throw new WebnmfError(
      'input',
      `${name}: dataset ${ds.path} holds ${ds.dtype === undefined ? 'non-numeric' : JSON.stringify(ds.dtype)} ` +
        'values, not numbers; webnmf reads integer and floating-point data.',
    );
  }
  if (meta.type === 1 && meta.size === 2) {
    throw new WebnmfError('input', `${name}: dataset ${ds.path} is float16, which webnmf does not read; save it as float32.`);
  }
  let v: unknown;
  try {
    v = ranges ? ds.slice(ranges) : ds.value;
  } catch (e) {
    const filters = (ds.filters ?? []).map((f) => f.name || String(f.id)).join(', ');
    throw new WebnmfError(
      'input',
      `${name}: reading dataset ${ds.path} failed (${(e as Error).message ?? e}).` +
        (filters
          ? ` It is compressed with ${filters}; h5wasm decodes deflate (gzip), shuffle and fletcher32 only — ` +
            're-save the file with gzip compression or none (HyperSpy: s.save(name, compression="gzip")).'
          : ' The file is corrupt or truncated.'),
    );
  }
  if (!ArrayBuffer.isView(v)) {
    throw new WebnmfError('input', `${name}: dataset ${ds.path} did not read as a numeric array.`);
  }
  return toCubeData(v as unknown as ArrayLike<number | bigint> & { length: number }, name);
}
