// H step of ESPM's SmoothNMF (and Lee–Seung KL / Frobenius), one thread per group of PPT pixels.
// Fused: R = X ⊘ (D H) on the fly, A = Dᵀ R, the regularised denominator, the per-pixel simplex
// multiplier and H⁺ = max(H ∘ num / (den + ν), ε), written to the other ping-pong buffer.
// The Laplacian stencil reads the OLD H of the 4 neighbours (free edges).
// X is read as vec4<u32>: 4 float32 pixels (PPT = 4) or 8 packed u16 counts (PPT = 8), so one
// load per channel serves the whole group (software Vulkan pays per load and lane, not per byte).
// SPLIT > 1 (GPUs): SPLIT threads share a group, each summing every SPLIT-th channel (dense) or
// nonzero count (sparse); the partial sums meet in workgroup memory and the first of them
// finishes the group. One thread per group leaves a GPU mostly idle on images of 10⁴–10⁵ pixels
// (1 250–8 000 threads; an H100 holds 270 000), and each then runs the whole channel loop alone.

override WG: u32 = 64u;
override K: u32 = 3u;
override PPT: u32 = 4u;
/** 1: X in the sparse layout (KL only; an override, so the dense pipelines carry no sparse code). */
override SPARSE: u32 = 0u;
/** 1: the u16 counts hold the fill sentinel 0xffff (ESPM's ε in all-zero lines, = P.xTiny). */
override FILL: u32 = 0u;
/** Threads per pixel group, a power of two dividing WG (see above). */
override SPLIT: u32 = 1u;
const MAXK: u32 = 16u;
const MAXPPT: u32 = 8u;
const MAXWG: u32 = 256u;

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)
// pPad, pcPad: row strides of H (k × pPad) and of an X chunk (n × pcPad), multiples of 8 pixels;
// padding pixels hold X = 0 and H = 0.
// flags: 1 = G given, 2 = simplex on H, 4 = simplex on W, 8 = Frobenius, 16 = X packed u16,
//        32 = tight Laplacian majoriser (see `root` below; used where λ ≠ 0)
// Sparse X (override SPARSE, KL counts only): the X binding holds u32 words (`xw`):
//   [0] start of the per-pixel entries E, [1] start of the per-(segment, channel) offsets,
//   [2] start of their entries, [3] unused; from 4: pcPad + 1 per-pixel offsets into E;
//   E: (channel << 16) | count for every nonzero of the chunk, pixel by pixel (count 0xffff:
//   P.xTiny, ESPM's ε fill of all-zero lines; see w_num.wgsl for the per-channel half).
//   Only nonzero counts cost work: X ⊘ DH is 0 where X is 0.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> D: array<f32>;
@group(0) @binding(4) var<storage, read> small: array<f32>;
@group(0) @binding(5) var<storage, read> Hin: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> Hout: array<vec4<f32>>;
// Sparse X only: H⁺ also pixel-major, ceil(K/4) vec4 per pixel (b · pPad + pixel), so that the
// W step's gathers by pixel take one load per 4 components (w_num.wgsl). A dummy otherwise.
@group(0) @binding(7) var<storage, read_write> Ht: array<vec4<f32>>;

override PSTRIDE: u32 = 32u;
// small (per batch, stride SSTRIDE): [0, K) colsum D, [16, 16+K) row sums of H, [32, 32+K) row max of H,
// [48, 48+K*K) DᵀD (Frobenius), [304, 304+K*K) H Hᵀ (Frobenius), [560, 560+K) Σ_i max(D_ik, ε)
override SSTRIDE: u32 = 576u;

/** One u32 word of a sparse X chunk. */
fn xw(w: u32) -> u32 { return X[w >> 2u][w & 3u]; }

/** One 16-bit count as X; 0xffff is the fill sentinel (P.xTiny) in the sparse layout or where FILL says so. */
fn xcount(c: u32) -> f32 { return select(f32(c) * P.xScale, P.xTiny, (SPARSE != 0u || FILL != 0u) && c == 0xffffu); }

/** One old H value (Laplacian neighbours). */
fn hAt(idx: u32) -> f32 { return Hin[idx >> 2u][idx & 3u]; }

/** SPLIT > 1: the partial sums of 4 pixels of one component, per thread. */
var<workgroup> red: array<vec4<f32>, MAXWG>;

/**
 * The tight step's entry at multiplier ν: the positive root h of q h² + (b + ν) h − a = 0 (the
 * minimiser of (b+ν) h + (q/2) h² − a log h), without cancellation; returns (h, s) with
 * s = √((b+ν)² + 4qa), so dh/dν = −h/s. q = 0 is the plain ratio a / (b + ν).
 */
fn root(a: f32, b: f32, q: f32, nu: f32) -> vec2<f32> {
  let beta = b + nu;
  if (q == 0.0) { return vec2<f32>(a / beta, beta); }
  let s = sqrt(beta * beta + 4.0 * q * a);
  return vec2<f32>(select((s - beta) / (2.0 * q), 2.0 * a / (beta + s), beta >= 0.0), s);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  // thread lid: lane lid / gpw of group lid % gpw, so neighbouring threads read neighbouring X
  let gpw = WG / SPLIT;
  let lane = lid / gpw;
  let grp = wid.x * gpw + lid % gpw;
  let b = wid.y;   // workgroup_id: provably uniform, so per-problem loads stay scalar
  // no early return before the barriers: groups past the chunk's end idle at group 0's addresses
  let live = grp * PPT < P.pc;
  let q0 = select(0u, grp * PPT, live);
  let pix0 = P.p0 + q0;
  let hb = b * K * P.pPad;
  let db = b * P.n * K;
  let sb = b * SSTRIDE;
  let pb = b * PSTRIDE;
  let frob = (P.flags & 8u) != 0u;
  let packed = PPT == 8u;

  var h: array<array<f32, MAXPPT>, MAXK>;
  var a: array<array<f32, MAXPPT>, MAXK>;
  for (var kk = 0u; kk < K; kk++) {
    for (var v = 0u; v < PPT / 4u; v++) {
      let hv = Hin[(hb + kk * P.pPad + pix0) / 4u + v];
      for (var c = 0u; c < 4u; c++) { h[kk][v * 4u + c] = hv[c]; a[kk][v * 4u + c] = 0.0; }
    }
  }

  let xrow = q0 / PPT;
  let xstride = P.pcPad / PPT;
  let sparse = SPARSE != 0u;
  if (sparse) {
    let ent = xw(0u);
    for (var j = 0u; j < PPT; j++) {
      let e1 = select(0u, xw(5u + q0 + j), live);
      for (var e = xw(4u + q0 + j) + lane; e < e1; e += SPLIT) {
        let w = xw(ent + e);
        let di = db + (w >> 16u) * K;
        let xv = xcount(w & 0xffffu);
        var dh = 0.0;
        for (var kk = 0u; kk < K; kk++) { dh += D[di + kk] * h[kk][j]; }
        let r = xv / select(dh, P.eps, dh <= 0.0);
        for (var kk = 0u; kk < K; kk++) { a[kk][j] += D[di + kk] * r; }
      }
    }
  }
  for (var i = lane; i < select(P.n, 0u, sparse || !live); i += SPLIT) {
    let xv = X[i * xstride + xrow];
    var x: array<f32, MAXPPT>;
    if (packed) {
      for (var c = 0u; c < 4u; c++) {
        x[2u * c] = xcount(xv[c] & 0xffffu);
        x[2u * c + 1u] = xcount(xv[c] >> 16u);
      }
    } else {
      for (var c = 0u; c < 4u; c++) { x[c] = bitcast<f32>(xv[c]); }
    }
    var d: array<f32, MAXK>;
    for (var kk = 0u; kk < K; kk++) { d[kk] = D[db + i * K + kk]; }
    for (var j = 0u; j < PPT; j++) {
      if (frob) {
        for (var kk = 0u; kk < K; kk++) { a[kk][j] += d[kk] * x[j]; }
      } else {
        var dh = 0.0;
        for (var kk = 0u; kk < K; kk++) { dh += d[kk] * h[kk][j]; }
        // ESPM floors DH at ε when X ⊘ DH has a NaN (0/0); a NaN test would be folded away under
        // the fast-math some drivers compile with, so the floor applies where DH ≤ 0 instead.
        let r = x[j] / select(dh, P.eps, dh <= 0.0);
        for (var kk = 0u; kk < K; kk++) { a[kk][j] += d[kk] * r; }
      }
    }
  }

  if (SPLIT > 1u) {
    for (var kk = 0u; kk < K; kk++) {
      for (var v = 0u; v < PPT / 4u; v++) {
        let o = 4u * v;
        red[lid] = vec4<f32>(a[kk][o], a[kk][o + 1u], a[kk][o + 2u], a[kk][o + 3u]);
        for (var s = SPLIT / 2u; s > 0u; s >>= 1u) {
          workgroupBarrier();
          if (lane < s) { red[lid] += red[lid + s * gpw]; }
        }
        workgroupBarrier();
        let t = red[lid];   // the group's sum, at lane 0
        for (var c = 0u; c < 4u; c++) { a[kk][o + c] = t[c]; }
      }
    }
  }
  if (lane != 0u || !live) { return; }

  let lam = probs[pb + 0u];
  let epsReg = probs[pb + 1u];
  let tol = probs[pb + 3u];
  let tight = (P.flags & 32u) != 0u && lam != 0.0;
  var out: array<array<f32, MAXPPT>, MAXK>;
  for (var j = 0u; j < PPT; j++) {
    let pix = pix0 + j;
    if (q0 + j >= P.pc) {
      for (var kk = 0u; kk < K; kk++) { out[kk][j] = 0.0; }   // padding pixels stay 0
      continue;
    }
    var num: array<f32, MAXK>;
    var den: array<f32, MAXK>;
    var qd: array<f32, MAXK>;   // tight step: the quadratic coefficient q (0 elsewhere)
    for (var kk = 0u; kk < K; kk++) { qd[kk] = 0.0; }
    if (frob) {
      for (var kk = 0u; kk < K; kk++) {
        var s = 0.0;
        for (var c = 0u; c < K; c++) { s += small[sb + 48u + kk * K + c] * h[c][j]; }
        num[kk] = h[kk][j] * a[kk][j];
        den[kk] = s;
      }
    } else {
      let r = pix / P.cols;
      let c = pix - r * P.cols;
      for (var kk = 0u; kk < K; kk++) {
        let mu = probs[pb + 4u + kk];
        let hk = h[kk][j];
        var nk = a[kk][j];
        var dk = small[sb + kk] + mu / (hk + epsReg);
        if (lam != 0.0) {
          let o = hb + kk * P.pPad;
          var lap = 0.0;   // Σ over neighbours of (h − h_q)
          var nb = 0.0;    // Σ over neighbours of h_q
          var deg = 0.0;
          if (c > 0u) { let v = select(hAt(o + pix - 1u), h[kk][max(j, 1u) - 1u], j > 0u); lap += hk - v; nb += v; deg += 1.0; }
          if (c + 1u < P.cols) { let v = select(hAt(o + pix + 1u), h[kk][min(j + 1u, PPT - 1u)], j + 1u < PPT); lap += hk - v; nb += v; deg += 1.0; }
          if (r > 0u) { let v = hAt(o + pix - P.cols); lap += hk - v; nb += v; deg += 1.0; }
          if (r + 1u < P.rows) { let v = hAt(o + pix + P.cols); lap += hk - v; nb += v; deg += 1.0; }
          if (tight) {
            // a = h̃ (DᵀR + λ Σ neighbours), b = colsum D + μ/(h̃+ε_reg), q = λ deg (see `root`).
            nk += lam * nb;
            qd[kk] = lam * deg;
          } else {
            let ls = lam * P.sigma * small[sb + 32u + kk];
            nk += ls;
            dk += ls + lam * lap;
          }
        }
        num[kk] = hk * nk;
        den[kk] = dk;
      }
    }

    var nu = 0.0;
    if ((P.flags & 2u) != 0u) {
      // Exact per-pixel simplex multiplier: Newton on f(ν) = Σ max(root_k(ν), ε) − 1 (the plain
      // ratio num/(den+ν) where q = 0), safeguarded by bisection inside [lo, hi]:
      //   lo = max over num > 0 of (num/2 − 2q − den)   (that entry is 2 there: f > 0)
      //   hi = ESPM's 2K·max num − min den, or for the tight step max (2K num − q/(2K) − den)
      //        (every entry ≤ 1/(2K): f < 0).
      // Solved for ν + min den rather than ν: where the simplex forces up an entry whose update
      // wanted it small (num ≪ den, as from a random start), den + ν cancels, and in float32 that
      // cost up to 3e-4 of H (600 channels). Shifting den by its minimum is exact in real numbers;
      // in float32 the smallest den + ν becomes the unknown itself and the others stay positive sums.
      var dmin = 3.0e38;
      for (var kk = 0u; kk < K; kk++) { dmin = min(dmin, den[kk]); }
      for (var kk = 0u; kk < K; kk++) { den[kk] -= dmin; }
      var lo = -3.0e38;
      var hiTight = -3.0e38;
      var maxNum = -3.0e38;
      var minDen = 3.0e38;
      let kf = f32(K);
      for (var kk = 0u; kk < K; kk++) {
        if (num[kk] > 0.0) { lo = max(lo, num[kk] * 0.5 - 2.0 * qd[kk] - den[kk]); }
        hiTight = max(hiTight, 2.0 * kf * num[kk] - qd[kk] / (2.0 * kf) - den[kk]);
        maxNum = max(maxNum, num[kk]);
        minDen = min(minDen, den[kk]);
      }
      var hi = select(2.0 * kf * maxNum - minDen, hiTight, tight);
      var x = 0.5 * (lo + hi);
      for (var it = 0u; it < 100u; it++) {
        var s = 0.0;
        var ds = 0.0;
        for (var kk = 0u; kk < K; kk++) {
          let t = root(num[kk], den[kk], qd[kk], x);
          if (t.x > P.eps) { s += t.x; ds -= t.x / t.y; } else { s += P.eps; }
        }
        let fx = s - 1.0;
        if (abs(fx) <= tol) { break; }
        if (fx > 0.0) { lo = x; } else { hi = x; }
        var nxt = x - fx / ds;
        if (!(ds < 0.0) || !(nxt > lo && nxt < hi)) { nxt = 0.5 * (lo + hi); }
        if (nxt == x || hi - lo <= abs(x) * 1.2e-7) { break; }
        x = nxt;
      }
      nu = x;
    }
    for (var kk = 0u; kk < K; kk++) { out[kk][j] = max(root(num[kk], den[kk], qd[kk], nu).x, P.eps); }
  }

  for (var kk = 0u; kk < K; kk++) {
    for (var v = 0u; v < PPT / 4u; v++) {
      let base = v * 4u;
      Hout[(hb + kk * P.pPad + pix0) / 4u + v] = vec4<f32>(out[kk][base], out[kk][base + 1u], out[kk][base + 2u], out[kk][base + 3u]);
    }
  }
  if (sparse) {
    let kv = (K + 3u) / 4u;
    for (var j = 0u; j < PPT; j++) {
      for (var v = 0u; v < kv; v++) {
        let c = 4u * v;   // out[c..c+3] past K hold 0 (function-scope arrays start zeroed)
        Ht[(b * P.pPad + pix0 + j) * kv + v] = vec4<f32>(out[c][j], out[min(c + 1u, MAXK - 1u)][j], out[min(c + 2u, MAXK - 1u)][j], out[min(c + 3u, MAXK - 1u)][j]);
      }
    }
  }
}
