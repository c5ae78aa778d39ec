/**
 * Files that appear only complete: each file is written to a temporary name in its own directory
 * and renamed into place (rename is atomic within a file system), and a whole set of outputs is
 * staged in a sibling directory and moved in only once everything was written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { WebnmfError } from '../errors.js';

const tmpSuffix = () => `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

const describe = (e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  return err && err.code ? `${err.code}: ${err.message}` : String(e);
};

/**
 * Writes `bytes` to `file` atomically: a temporary file beside it, fsync, rename. On failure the
 * temporary file is removed and a WebnmfError('runtime') names the file.
 */
export function writeFileAtomic(file: string, bytes: Uint8Array | string, options: { fsync?: boolean } = {}): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}${tmpSuffix()}`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    fs.writeFileSync(fd, bytes);
    if (options.fsync ?? true) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    fs.rmSync(tmp, { force: true });
    throw new WebnmfError('runtime', `cannot write '${file}' (${describe(e)}). Check that the directory exists and is writable, and that the disk is not full.`);
  }
}

/**
 * A set of output files staged in a temporary sibling directory of `dir`. Call `write` for each
 * file, then `commit()` to move them into `dir` (created if missing), or `abort()` to leave
 * nothing behind. If `dir` did not exist the whole directory appears at once; otherwise each
 * file is renamed in (each one atomically).
 */
export class StagedOutputDir {
  readonly dir: string;
  readonly stagingDir: string;
  private readonly names: string[] = [];
  private done = false;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    const parent = path.dirname(this.dir);
    if (fs.existsSync(this.dir) && !fs.statSync(this.dir).isDirectory()) {
      throw new WebnmfError('input', `output '${dir}' exists and is not a directory. Choose another --out directory.`);
    }
    try {
      fs.mkdirSync(parent, { recursive: true });
      this.stagingDir = fs.mkdtempSync(path.join(parent, `.${path.basename(this.dir)}.staging-`));
    } catch (e) {
      throw new WebnmfError('input', `cannot create the output directory '${dir}' (${describe(e)}). Choose a writable --out directory.`);
    }
  }

  /** Writes one file (a plain name, no directories) into the staging directory. */
  write(name: string, bytes: Uint8Array | string): void {
    if (this.done) throw new WebnmfError('runtime', `output '${this.dir}' was already committed or aborted; cannot write '${name}'.`);
    if (name !== path.basename(name) || name.startsWith('.')) {
      throw new WebnmfError('runtime', `output file name '${name}' must be a plain file name.`);
    }
    const file = path.join(this.stagingDir, name);
    try {
      fs.writeFileSync(file, bytes);
    } catch (e) {
      throw new WebnmfError('runtime', `cannot write '${path.join(this.dir, name)}' (${describe(e)}). Check free disk space and permissions.`);
    }
    if (!this.names.includes(name)) this.names.push(name);
  }

  /** The files written so far. */
  get files(): readonly string[] {
    return this.names;
  }

  /** Moves every staged file into place and removes the staging directory. */
  commit(): string[] {
    if (this.done) throw new WebnmfError('runtime', `output '${this.dir}' was already committed or aborted.`);
    this.done = true;
    try {
      if (!fs.existsSync(this.dir)) {
        try {
          fs.renameSync(this.stagingDir, this.dir);
          return this.names.map((n) => path.join(this.dir, n));
        } catch {
          // Someone created it meanwhile, or the rename is not allowed: move file by file.
          fs.mkdirSync(this.dir, { recursive: true });
        }
      }
      for (const n of this.names) fs.renameSync(path.join(this.stagingDir, n), path.join(this.dir, n));
      fs.rmSync(this.stagingDir, { recursive: true, force: true });
      return this.names.map((n) => path.join(this.dir, n));
    } catch (e) {
      fs.rmSync(this.stagingDir, { recursive: true, force: true });
      throw new WebnmfError('runtime', `cannot move the results into '${this.dir}' (${describe(e)}).`);
    }
  }

  /** Removes the staging directory and everything in it. Safe to call more than once. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    fs.rmSync(this.stagingDir, { recursive: true, force: true });
  }
}
