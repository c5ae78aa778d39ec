// W update, D = G W⁺ (or D = W⁺) and colsum(D), one thread per component column, one workgroup
// per problem (WG ≥ K). Reads the old W, writes the other ping-pong buffer.
//   KL:        W⁺ = max(W ∘ (Gᵀ wnum) / (colsum(G)_j · rowsum(H⁺)_k + ν_k), ε), ν_k the per-column
//              simplex multiplier when the simplex is on W, else 0.
//   Frobenius: W⁺ = max(W ∘ (Gᵀ wnum) / (GᵀG W H⁺H⁺ᵀ), ε) (G = I without G), then DᵀD for the
//              next H step. GᵀG W = Gᵀ D with the old D, so that product is formed (into Wout) before
//              any thread overwrites D.

override WG: u32 = 16u;
override K: u32 = 3u;
override PSTRIDE: u32 = 32u;
override SSTRIDE: u32 = 576u;
// small (per batch, stride SSTRIDE): [0, K) colsum D, [16, 16+K) row sums of H, [32, 32+K) row max of H,
// [48, 48+K*K) DᵀD (Frobenius), [304, 304+K*K) H Hᵀ (Frobenius), [560, 560+K) Σ_i max(D_ik, ε)

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)
// pPad, pcPad: row strides of H (k × pPad) and of an X chunk (n × pcPad), multiples of 8 pixels;
// padding pixels hold X = 0 and H = 0.
// flags: 1 = G given, 2 = simplex on H, 4 = simplex on W, 8 = Frobenius, 16 = X packed u16,
//        64 = extrapolate this iteration (lib/w_extrapolate.wgsl)

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;      // n × m, then colsum(G) (m)
@group(0) @binding(3) var<storage, read> wnum: array<f32>;
@group(0) @binding(4) var<storage, read> Win: array<f32>;
@group(0) @binding(5) var<storage, read_write> Wout: array<f32>;
@group(0) @binding(6) var<storage, read_write> D: array<f32>;
@group(0) @binding(7) var<storage, read_write> small: array<f32>;
@group(0) @binding(8) var<storage, read_write> Wprev: array<f32>;   // the previous plain W⁺ (extrapolation only)

// #include "lib/w_simplex.wgsl"   (gsum, simplexColumn)
// #include "lib/w_extrapolate.wgsl"   (extrapolateW)

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let kk = lid.x;
  let b = wid.y;
  let m = P.m;
  let wb = b * m * K;
  let db = b * P.n * K;
  let sb = b * SSTRIDE;
  let hasG = (P.flags & 1u) != 0u;
  let frob = (P.flags & 8u) != 0u;
  let simplexW = (P.flags & 4u) != 0u;
  let isCol = kk < K;

  if (frob && hasG) {
    if (isCol) {
      for (var j = 0u; j < m; j++) {
        var den = 0.0;
        for (var c = 0u; c < K; c++) {
          var gd = 0.0;
          for (var i = 0u; i < P.n; i++) { gd += G[i * m + j] * D[db + i * K + c]; }
          den += gd * small[sb + 304u + c * K + kk];
        }
        Wout[wb + j * K + kk] = den;
      }
    }
    storageBarrier();
  }

  if (isCol) {
    let rsum = small[sb + 16u + kk];
    for (var j = 0u; j < m; j++) {
      var g = 0.0;
      if (hasG) {
        for (var i = 0u; i < P.n; i++) { g += G[i * m + j] * wnum[db + i * K + kk]; }
      } else {
        g = wnum[db + j * K + kk];
      }
      let num = Win[wb + j * K + kk] * g;
      if (frob) {
        var den = 0.0;
        if (hasG) {
          den = Wout[wb + j * K + kk];   // (GᵀG W H⁺H⁺ᵀ)_jk, formed above
        } else {
          for (var c = 0u; c < K; c++) { den += Win[wb + j * K + c] * small[sb + 304u + c * K + kk]; }
        }
        Wout[wb + j * K + kk] = max(num / den, P.eps);
      } else if (simplexW) {
        Wout[wb + j * K + kk] = num;   // finished below, once ν_k is known
      } else {
        Wout[wb + j * K + kk] = max(num / (gsum(j) * rsum), P.eps);
      }
    }
    if (simplexW && !frob) { simplexColumn(b, kk, rsum); }
    for (var j = 0u; j < m; j++) { extrapolateW(b, j * K + kk); }
    var cs = 0.0;
    var csc = 0.0;   // Σ_i max(D_ik, ε): the sparse loss's Σ_i Y_ip (loss.wgsl)
    for (var i = 0u; i < P.n; i++) {
      var d = 0.0;
      if (hasG) {
        for (var j = 0u; j < m; j++) { d += G[i * m + j] * Wout[wb + j * K + kk]; }
      } else {
        d = Wout[wb + i * K + kk];
      }
      D[db + i * K + kk] = d;
      cs += d;
      csc += max(d, P.eps);
    }
    small[sb + kk] = cs;
    small[sb + 560u + kk] = csc;
  }
  storageBarrier();
  if (frob && isCol) {
    for (var c = 0u; c < K; c++) {
      var s = 0.0;
      for (var i = 0u; i < P.n; i++) { s += D[db + i * K + kk] * D[db + i * K + c]; }
      small[sb + 48u + kk * K + c] = s;
    }
  }
}
