// Fixed-spectra KL (Poisson) fit: map-only Lee–Seung multiplicative updates, one thread per pixel.
//   update (flags & 4 == 0):  h_c ← max(h_c · Σ_i D_ic x_i / (D h)_i / Σ_i D_ic, ε)
//   error  (flags & 4 != 0):  per-workgroup partial Σ (y − x + x log(x / y)), y = max((D h)_i, 1e-30)
//                             (per-element form: no cancellation in float32), H unchanged.
// X is n × p (the whole image), D n × k, H k × p. The float64 twin: src/modes/nnls.ts klMapStep.

override WG: u32 = 64u;
override K: u32 = 4u;

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> D: array<f32>;
@group(0) @binding(3) var<storage, read> colsum: array<f32>;
@group(0) @binding(4) var<storage, read_write> H: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<f32>;

const MAXK: u32 = 16u;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(workgroup_id) wid: vec3<u32>) {
  let pix = gid.x;
  let errorOnly = (P.flags & 4u) != 0u;
  var kl = 0.0;
  if (pix < P.p) {
    var h: array<f32, MAXK>;
    var num: array<f32, MAXK>;
    for (var c = 0u; c < K; c++) { h[c] = H[c * P.p + pix]; num[c] = 0.0; }
    for (var i = 0u; i < P.n; i++) {
      let x = X[i * P.p + pix];
      var y = 0.0;
      for (var c = 0u; c < K; c++) { y += D[i * K + c] * h[c]; }
      y = max(y, 1e-30);
      if (errorOnly) {
        var t = y - x;
        if (x > 0.0) { t += x * log(x / y); }
        kl += t;
      } else if (x > 0.0) {
        let r = x / y;
        for (var c = 0u; c < K; c++) { num[c] += D[i * K + c] * r; }
      }
    }
    if (!errorOnly) {
      for (var c = 0u; c < K; c++) { H[c * P.p + pix] = max(h[c] * num[c] / colsum[c], P.eps); }
    }
  }
  if (!errorOnly) { return; }
  red[li] = kl;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) { red[li] += red[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) { part[wid.x] = red[0]; }
}
