// Reduces the W-step partials over pixel segments, one thread per output value and problem:
//   wnum (n × K) = Σ_s wpart[s];  row sums and row maxima of H⁺ into small;  H⁺H⁺ᵀ (Frobenius).

override WG: u32 = 64u;
override K: u32 = 3u;
override SSTRIDE: u32 = 576u;
// small (per batch, stride SSTRIDE): [0, K) colsum D, [16, 16+K) row sums of H, [32, 32+K) row max of H,
// [48, 48+K*K) DᵀD (Frobenius), [304, 304+K*K) H Hᵀ (Frobenius), [560, 560+K) Σ_i max(D_ik, ε)

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)
// pPad, pcPad: row strides of H (k × pPad) and of an X chunk (n × pcPad), multiples of 8 pixels;
// padding pixels hold X = 0 and H = 0.
// flags: 1 = G given, 2 = simplex on H, 4 = simplex on W, 8 = Frobenius, 16 = X packed u16

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> wpart: array<f32>;
@group(0) @binding(2) var<storage, read> hpart: array<f32>;
@group(0) @binding(3) var<storage, read> H: array<f32>;
@group(0) @binding(4) var<storage, read_write> wnum: array<f32>;
@group(0) @binding(5) var<storage, read_write> small: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let t = gid.x;
  let b = wid.y;
  let nk = P.n * K;
  let sb = b * SSTRIDE;
  if (t < nk) {
    var s = 0.0;
    for (var g = 0u; g < P.nSeg; g++) { s += wpart[(b * P.nSeg + g) * nk + t]; }
    wnum[b * nk + t] = s;
    return;
  }
  let u = t - nk;
  if (u < K) {
    var s = 0.0;
    for (var g = 0u; g < P.nSeg; g++) { s += hpart[(b * P.nSeg + g) * 2u * K + u]; }
    small[sb + 16u + u] = s;
    return;
  }
  if (u < 2u * K) {
    var m = 0.0;
    for (var g = 0u; g < P.nSeg; g++) { m = max(m, hpart[(b * P.nSeg + g) * 2u * K + u]); }
    small[sb + 32u + u - K] = m;
    return;
  }
  let v = u - 2u * K;
  if ((P.flags & 8u) != 0u && v < K * K) {
    let a = v / K;
    let c = v - a * K;
    let hb = b * K * P.pPad;
    var s = 0.0;
    for (var q = 0u; q < P.p; q++) { s += H[hb + a * P.pPad + q] * H[hb + c * P.pPad + q]; }
    small[sb + 304u + v] = s;
  }
}
