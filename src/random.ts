/**
 * A seeded, reproducible pseudo-random number generator and the samplers webnmf needs.
 *
 * Generator: xoshiro128** 1.0 (Blackman & Vigna 2018), 32-bit state words driven with `Math.imul`
 * and unsigned shifts only, so every platform produces the same bits for the same seed. The seed
 * is expanded into the 128-bit state with splitmix32 (never all zero).
 *
 * Samplers (all exact in distribution; the methods are the ones numpy's legacy/Generator code uses
 * unless said otherwise):
 * - `uniform()`: 53-bit double in [0, 1) from two 32-bit outputs.
 * - `normal()`: Marsaglia's polar method; the second deviate of each pair is cached.
 * - `poisson(λ)`: multiplication (inversion) method for λ < 10, PTRS (Hörmann 1993) for λ ≥ 10.
 * - `gamma(shape)`: Marsaglia & Tsang (2000); shape < 1 by the boost Γ(a+1)·U^{1/a}.
 * - `binomial(n, p)`: inversion (sequential search) when n·min(p, 1−p) < 30; otherwise Knuth's
 *   order-statistic recursion (TAOCP vol. 2, 3.4.1): the a-th smallest of n uniforms is
 *   Beta(a, n−a+1); conditioning on it halves n, so O(log n) beta draws reach the inversion case.
 */
import { usageError } from './errors.js';

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;
const TWO_POW_26 = 67108864;

/** splitmix32: a bijective 32-bit mixer, used to expand a seed into the generator's state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** log Γ(x) for x > 0 (numpy's `random_loggam`: Stirling series, shifted up to x ≥ 7). */
export function logGamma(x: number): number {
  const a = [
    8.333333333333333e-2, -2.777777777777778e-3, 7.936507936507937e-4, -5.952380952380952e-4,
    8.417508417508418e-4, -1.917526917526918e-3, 6.41025641025641e-3, -2.955065359477124e-2,
    1.796443723688307e-1, -1.3924322169059,
  ];
  if (x === 1 || x === 2) return 0;
  const n = x < 7 ? Math.floor(7 - x) : 0;
  let x0 = x + n;
  const x2 = (1 / x0) * (1 / x0);
  let gl0 = a[9];
  for (let k = 8; k >= 0; k--) gl0 = gl0 * x2 + a[k];
  let gl = gl0 / x0 + 0.5 * 1.8378770664093453 + (x0 - 0.5) * Math.log(x0) - x0;
  for (let k = 1; k <= n; k++) {
    gl -= Math.log(x0 - 1);
    x0 -= 1;
  }
  return gl;
}

export class Random {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;

  /** @param seed a non-negative safe integer (0 ≤ seed < 2^53). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw usageError(`seed must be a non-negative integer below 2^53, got ${seed}`);
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    const st = { s: lo };
    // Fold the high word in so that seeds differing only above bit 31 give different streams.
    st.s = (st.s ^ Math.imul(hi, 0x27d4eb2d)) >>> 0;
    this.s0 = splitmix32(st) | 0;
    this.s1 = splitmix32(st) | 0;
    this.s2 = splitmix32(st) | 0;
    this.s3 = splitmix32(st) | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator with the given raw state (four uint32 words, not all zero). For reference tests. */
  static fromState(state: readonly [number, number, number, number]): Random {
    const r = new Random(0);
    [r.s0, r.s1, r.s2, r.s3] = state.map((v) => v | 0) as [number, number, number, number];
    if ((r.s0 | r.s1 | r.s2 | r.s3) === 0) throw usageError('xoshiro128** state must not be all zero');
    r.spareNormal = null;
    return r;
  }

  /** The next raw 32-bit output, as an unsigned integer in [0, 2^32). */
  uint32(): number {
    // State words are kept as int32 (same bits); only the output is made unsigned.
    const s0 = this.s0;
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const s2 = this.s2 ^ s0;
    const s3 = this.s3 ^ s1;
    this.s1 = s1 ^ s2;
    this.s0 = s0 ^ s3;
    this.s2 = s2 ^ t;
    this.s3 = (s3 << 11) | (s3 >>> 21);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.uint32() >>> 5; // 27 bits
    const b = this.uint32() >>> 6; // 26 bits
    return (a * TWO_POW_26 + b) / TWO_POW_53;
  }

  /** Uniform integer in [0, n), unbiased (rejection), for 1 ≤ n ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw usageError(`int(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.uint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal deviate (Marsaglia's polar method). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spareNormal = v * f;
        return u * f;
      }
    }
  }

  /** Poisson deviate with mean λ ≥ 0 (exact for any finite λ; tested up to 1e6). */
  poisson(lambda: number): number {
    if (!(lambda >= 0) || !Number.isFinite(lambda)) throw usageError(`poisson(λ) needs a finite λ ≥ 0, got ${lambda}`);
    if (lambda === 0) return 0;
    if (lambda < 10) {
      // Multiplication method: the number of uniforms whose running product stays above e^{-λ}.
      const enlam = Math.exp(-lambda);
      let x = 0;
      let prod = 1;
      for (;;) {
        prod *= this.uniform();
        if (prod > enlam) x += 1;
        else return x;
      }
    }
    return this.poissonPtrs(lambda);
  }

  /** PTRS: transformed rejection with squeeze (Hörmann 1993), as in numpy. λ ≥ 10. */
  private poissonPtrs(lam: number): number {
    const slam = Math.sqrt(lam);
    const loglam = Math.log(lam);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const U = this.uniform() - 0.5;
      const V = this.uniform();
      const us = 0.5 - Math.abs(U);
      const k = Math.floor(((2 * a) / us + b) * U + lam + 0.43);
      if (us >= 0.07 && V <= vr) return k;
      if (k < 0 || (us < 0.013 && V > us)) continue;
      if (Math.log(V) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lam + k * loglam - logGamma(k + 1)) {
        return k;
      }
    }
  }

  /** Gamma deviate with the given shape > 0 and scale (default 1). */
  gamma(shape: number, scale = 1): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw usageError(`gamma(shape) needs a finite shape > 0, got ${shape}`);
    if (shape < 1) {
      // Boost: Γ(a) = Γ(a+1) · U^{1/a}, U in (0, 1].
      const u = 1 - this.uniform();
      return this.gamma(shape + 1, scale) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }

  /** Beta(a, b) deviate, a, b > 0 (ratio of gammas). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }

  /** Dirichlet deviate: a point on the simplex with concentration α (all > 0). */
  dirichlet(alpha: readonly number[]): Float64Array {
    const out = new Float64Array(alpha.length);
    let sum = 0;
    for (let i = 0; i < alpha.length; i++) {
      out[i] = this.gamma(alpha[i]);
      sum += out[i];
    }
    for (let i = 0; i < alpha.length; i++) out[i] /= sum;
    return out;
  }

  /** Binomial deviate: the number of successes in n trials of probability p. Exact for every n. */
  binomial(n: number, p: number): number {
    if (!Number.isSafeInteger(n) || n < 0) throw usageError(`binomial(n, p) needs an integer n ≥ 0, got n = ${n}`);
    if (!(p >= 0 && p <= 1)) throw usageError(`binomial(n, p) needs 0 ≤ p ≤ 1, got p = ${p}`);
    let result = 0;
    let flipped = false;
    // Knuth's recursion on the median order statistic while inversion would be slow.
    for (;;) {
      if (n === 0 || p === 0) break;
      if (p === 1) {
        result += n;
        n = 0;
        break;
      }
      if (n * Math.min(p, 1 - p) < 30) break;
      const a = 1 + Math.floor(n / 2);
      const b = n + 1 - a;
      const x = this.beta(a, b);
      if (x >= p) {
        n = a - 1;
        p = p / x;
      } else {
        result += a;
        n = b - 1;
        p = (p - x) / (1 - x);
      }
    }
    if (n === 0 || p === 0) return result;
    if (p > 0.5) {
      flipped = true;
      p = 1 - p;
    }
    const k = this.binomialInversion(n, p);
    return result + (flipped ? n - k : k);
  }

  /** Sequential-search inversion (numpy's `random_binomial_inversion`), p ≤ 1/2, n·p < 30. */
  private binomialInversion(n: number, p: number): number {
    const q = 1 - p;
    const qn = Math.exp(n * Math.log(q));
    const np = n * p;
    const bound = Math.min(n, np + 10 * Math.sqrt(np * q + 1));
    let x = 0;
    let px = qn;
    let u = this.uniform();
    while (u > px) {
      x++;
      if (x > bound) {
        x = 0;
        px = qn;
        u = this.uniform();
      } else {
        u -= px;
        px = ((n - x + 1) * p * px) / (x * q);
      }
    }
    return x;
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}

/** A new generator for a seed (convenience for `new Random(seed)`). */
export const createRandom = (seed: number): Random => new Random(seed);
