// Sampled loss partials, one thread per (group of PPT pixels, problem); X read as vec4<u32> like
// h_update.wgsl. Per group it writes
//   [0] Σ KL terms  Y − X + X log(X / Y)   (Y = max(D, ε) max(H, ε); Frobenius: ½ (X − D H)²)
//   [1] Σ_k μ_k log(H_kp + ε_reg)
//   [2] Σ_k H_kp (H L)_kp
//   [3] max |H − H_prev| / (H + tol · mean(H))       (ESPM's rel_H)
// The CPU sums the partials in float64 and applies λ/2 and 1/(n p). The per-element KL form has
// no cancellation, so float32 partials keep ~1e-6 relative accuracy.

override WG: u32 = 64u;
override K: u32 = 3u;
override PPT: u32 = 4u;
/** 1: X in the sparse layout (KL only; an override, so the dense pipelines carry no sparse code). */
override SPARSE: u32 = 0u;
/** 1: the u16 counts hold the fill sentinel 0xffff (ESPM's ε in all-zero lines, = P.xTiny). */
override FILL: u32 = 0u;
override PSTRIDE: u32 = 32u;
override SSTRIDE: u32 = 576u;
// small (per batch, stride SSTRIDE): [0, K) colsum D, [16, 16+K) row sums of H, [32, 32+K) row max of H,
// [48, 48+K*K) DᵀD (Frobenius), [304, 304+K*K) H Hᵀ (Frobenius), [560, 560+K) Σ_i max(D_ik, ε)
const MAXK: u32 = 16u;
const MAXPPT: u32 = 8u;

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)
// pPad, pcPad: row strides of H (k × pPad) and of an X chunk (n × pcPad), multiples of 8 pixels;
// padding pixels hold X = 0 and H = 0.
// flags: 1 = G given, 2 = simplex on H, 4 = simplex on W, 8 = Frobenius, 16 = X packed u16
// Sparse X (override SPARSE, layout in h_update.wgsl): per pixel Σ_i Y_ip = Σ_k c_k max(H_kp, ε)
// with c_k = Σ_i max(D_ik, ε) (small[560 + k], from w_update), plus −X + X log(X / Y) over the
// pixel's nonzero counts.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> D: array<f32>;
@group(0) @binding(4) var<storage, read> small: array<f32>;
@group(0) @binding(5) var<storage, read> H: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> Hprev: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> lpart: array<f32>;

fn hAt(idx: u32) -> f32 { return H[idx >> 2u][idx & 3u]; }

/** One u32 word of a sparse X chunk. */
fn xw(w: u32) -> u32 { return X[w >> 2u][w & 3u]; }

/** One 16-bit count as X; 0xffff is the fill sentinel (P.xTiny) in the sparse layout or where FILL says so. */
fn xcount(c: u32) -> f32 { return select(f32(c) * P.xScale, P.xTiny, (SPARSE != 0u || FILL != 0u) && c == 0xffffu); }

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let g = gid.x;
  let b = wid.y;
  let q0 = g * PPT;
  if (q0 >= P.pc) { return; }
  let pix0 = P.p0 + q0;
  let hb = b * K * P.pPad;
  let db = b * P.n * K;
  let sb = b * SSTRIDE;
  let pb = b * PSTRIDE;
  let frob = (P.flags & 8u) != 0u;
  let packed = PPT == 8u;
  let epsReg = probs[pb + 1u];
  let tol = probs[pb + 2u];
  var hsum = 0.0;
  for (var kk = 0u; kk < K; kk++) { hsum += small[sb + 16u + kk]; }
  let meanH = hsum / (f32(K) * f32(P.p));

  var h: array<array<f32, MAXPPT>, MAXK>;
  var hp: array<array<f32, MAXPPT>, MAXK>;
  for (var kk = 0u; kk < K; kk++) {
    for (var v = 0u; v < PPT / 4u; v++) {
      let idx = (hb + kk * P.pPad + pix0) / 4u + v;
      let hv = H[idx];
      let pv = Hprev[idx];
      for (var c = 0u; c < 4u; c++) { h[kk][v * 4u + c] = hv[c]; hp[kk][v * 4u + c] = pv[c]; }
    }
  }
  let nreal = min(PPT, P.pc - q0);

  var kl = 0.0;
  let xstride = P.pcPad / PPT;
  let sparse = SPARSE != 0u;
  if (sparse) {
    let ent = xw(0u);
    for (var j = 0u; j < PPT; j++) {
      var t = 0.0;
      for (var kk = 0u; kk < K; kk++) { t += small[sb + 560u + kk] * max(h[kk][j], P.eps); }
      let e1 = xw(5u + q0 + j);
      for (var e = xw(4u + q0 + j); e < e1; e++) {
        let w = xw(ent + e);
        let di = db + (w >> 16u) * K;
        let xv = xcount(w & 0xffffu);
        var y = 0.0;
        for (var kk = 0u; kk < K; kk++) { y += max(D[di + kk], P.eps) * max(h[kk][j], P.eps); }
        t += xv * log(max(xv, P.eps) / y) - xv;
      }
      kl += select(0.0, t, j < nreal);
    }
  }
  for (var i = 0u; i < select(P.n, 0u, sparse); i++) {
    let xv = X[i * xstride + g];
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
    // Straight-line code over the group, padding pixels masked (no branches: software drivers
    // compile unrolled branchy code very slowly).
    for (var j = 0u; j < PPT; j++) {
      var y = 0.0;
      for (var kk = 0u; kk < K; kk++) { y += max(d[kk], P.eps) * max(h[kk][j], P.eps); }
      let e = x[j] - y;
      let xl = max(x[j], P.eps);
      let t = select(y - x[j] + x[j] * log(xl / y), 0.5 * e * e, frob);
      kl += select(0.0, t, j < nreal);
    }
  }

  var lg = 0.0;
  var lp = 0.0;
  var rel = 0.0;
  for (var j = 0u; j < PPT; j++) {
    let live = j < nreal;
    let pix = min(pix0 + j, P.p - 1u);
    let r = pix / P.cols;
    let c = pix - r * P.cols;
    for (var kk = 0u; kk < K; kk++) {
      let hk = h[kk][j];
      rel = max(rel, select(0.0, abs(hk - hp[kk][j]) / (hk + tol * meanH), live));
      lg += select(0.0, probs[pb + 4u + kk] * log(hk + epsReg), live);
      let o = hb + kk * P.pPad;
      var lap = 0.0;
      lap += select(0.0, hk - hAt(o + pix - min(c, 1u)), c > 0u);
      lap += select(0.0, hk - hAt(o + min(pix + 1u, P.p - 1u)), c + 1u < P.cols);
      lap += select(0.0, hk - hAt(o + pix - min(r, 1u) * P.cols), r > 0u);
      lap += select(0.0, hk - hAt(o + min(pix + P.cols, P.p - 1u)), r + 1u < P.rows);
      lp += select(0.0, hk * lap, live);
    }
  }
  let o = (b * P.nLseg + P.lseg0 + g) * 4u;
  lpart[o] = kl;
  lpart[o + 1u] = lg;
  lpart[o + 2u] = lp;
  lpart[o + 3u] = rel;
}
