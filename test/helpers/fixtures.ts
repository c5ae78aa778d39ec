/** Access to the shared ESPM toy fixtures (../shared/fixtures/espm-toy beside the repo). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseNpy } from '../../src/io/npy.js';
import type { Matrix64 } from '../../src/types.js';

export const toyDir = fileURLToPath(new URL('../../../shared/fixtures/espm-toy/', import.meta.url));

export function fixturesPresent(): boolean {
  return existsSync(toyDir + 'X.npy');
}

export function loadMatrix(rel: string): Matrix64 {
  const a = parseNpy(new Uint8Array(readFileSync(toyDir + rel)), rel);
  const [rows, cols] = a.shape.length === 1 ? [a.shape[0], 1] : a.shape;
  return { rows, cols, data: a.data };
}

export function loadJson<T = Record<string, unknown>>(rel: string): T {
  return JSON.parse(readFileSync(toyDir + rel, 'utf8')) as T;
}

export interface ToySetting {
  name: 'a_plain_kl' | 'b_notebook';
  lambda: number;
  mu: number;
  epsilonReg: number;
  simplex: 'h' | 'none';
  useG: boolean;
  normFactor: number;
}

export function toySetting(name: ToySetting['name']): ToySetting {
  const run = loadJson<{ params: Record<string, unknown>; norm_factor: number }>(`${name}/run.json`);
  const p = run.params;
  return {
    name,
    lambda: p.lambda_L as number,
    mu: p.mu as number,
    epsilonReg: p.epsilon_reg as number,
    simplex: p.simplex_H ? 'h' : 'none',
    useG: p.G_given as boolean,
    normFactor: run.norm_factor,
  };
}
