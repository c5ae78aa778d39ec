/**
 * Array comparison with explicit tolerances: |a − e| ≤ abs + rel · |e| element-wise.
 * Reports the worst element with both values; NaN is never close to anything.
 */
import { expect } from 'vitest';

export interface Tolerance {
  rel?: number;
  abs?: number;
}

export function maxDeviation(actual: ArrayLike<number>, expected: ArrayLike<number>): { rel: number; abs: number } {
  let rel = 0;
  let abs = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    abs = Math.max(abs, Number.isNaN(d) ? Infinity : d);
    rel = Math.max(rel, Number.isNaN(d) ? Infinity : d / Math.abs(expected[i]));
  }
  return { rel, abs };
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label: string): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  const rel = tol.rel ?? 0;
  const abs = tol.abs ?? 0;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const allowed = abs + rel * Math.abs(e);
    const d = Math.abs(a - e);
    const excess = Number.isNaN(d) ? Infinity : d - allowed;
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    const a = actual[worst];
    const e = expected[worst];
    expect.fail(
      `${label}: element ${worst} is ${a}, expected ${e} (|diff| ${Math.abs(a - e).toExponential(3)} > ` +
        `abs ${abs} + rel ${rel} · |expected|)`,
    );
  }
}
