/** Writing a fit's results (W, H, D, snapshots, report.json) into a staged output directory. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebnmfError } from '../errors.js';
import { StagedOutputDir } from '../io/atomic.js';
import { encodeNpy } from '../io/npy.js';
import type { FitResult } from '../options.js';
import type { Matrix } from '../types.js';

/** webnmf's version, from the package.json above this file (source or dist). */
export function webnmfVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const f = path.join(dir, 'package.json');
    if (fs.existsSync(f)) {
      try {
        const pkg = JSON.parse(fs.readFileSync(f, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'webnmf' && pkg.version) return pkg.version;
      } catch {
        /* keep looking */
      }
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}

export const snapshotName = (which: 'W' | 'H', iteration: number) => `${which}_it${String(iteration).padStart(4, '0')}.npy`;

const shapeOf = (m: Matrix) => [m.rows, m.cols];

/** Checks early (before a long fit) that `dir` can become an output directory. */
export function checkOutputDir(dir: string): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
    throw new WebnmfError('input', `--out '${dir}' exists and is not a directory. Choose another --out directory.`);
  }
}

export interface WrittenFit {
  /** The files written, name → shape (for the report). */
  files: Record<string, number[]>;
  /** Requested snapshot iterations the fit never reached. */
  missingSnapshots: number[];
}

/** Stages W.npy, H.npy, D.npy and the snapshots of `result`. */
export function stageFitArrays(stage: StagedOutputDir, result: FitResult, requestedSnapshots: readonly number[]): WrittenFit {
  const files: Record<string, number[]> = {};
  const put = (name: string, m: Matrix) => {
    stage.write(name, encodeNpy({ shape: shapeOf(m), data: m.data }, { dtype: 'float64' }));
    files[name] = shapeOf(m);
  };
  put('W.npy', result.W);
  put('H.npy', result.H);
  put('D.npy', result.D);
  const its = [...result.snapshots.keys()].sort((a, b) => a - b);
  for (const it of its) {
    const s = result.snapshots.get(it)!;
    put(snapshotName('W', it), s.W);
    put(snapshotName('H', it), s.H);
  }
  const missingSnapshots = requestedSnapshots.filter((it) => !result.snapshots.has(it));
  return { files, missingSnapshots };
}

/** JSON with NaN/±Infinity spelled as null (JSON has no such numbers), pretty-printed. */
export const toJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';

/** The result part of report.json. */
export function resultReport(result: FitResult, wallSeconds: number) {
  const last = result.losses[result.losses.length - 1];
  return {
    iterations: result.nIter,
    stopReason: result.stopReason,
    finalLoss: last ? { iteration: last.iteration, full: last.full, kl: last.kl, logReg: last.logReg, laplacian: last.laplacian } : null,
    losses: result.losses,
    solveSeconds: result.solveSeconds,
    fitSeconds: result.totalSeconds,
    wallSeconds,
    iterationsPerSecond: result.solveSeconds > 0 ? result.nIter / result.solveSeconds : null,
    backend: result.backend,
    backendInfo: result.backendInfo,
    normFactor: result.normFactor,
    warnings: result.warnings,
  };
}
