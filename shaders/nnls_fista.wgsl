// Fixed-spectra NNLS: one FISTA iteration for every pixel of a span, one thread per pixel.
//   min_{a ≥ 0} f(a) = ½ aᵀ Q a − bᵀ a,   Q = DᵀD (k × k), b = Dᵀx,  step 1/L, L = λ_max(Q)
//   a⁺ = max(y − (Q y − b)/L, 0)
// With restart (flags & 1), O'Donoghue & Candès' adaptive restart, per pixel:
//   function scheme: f(a⁺) > f(a) → reject; a⁺ = max(a − (Q a − b)/L, 0) (a projected-gradient
//                    step, never increasing f); t = 1, y = a⁺. The test uses the difference
//                    f(a⁺) − f(a) = dᵀ(Q a − b) + ½ dᵀQd (d = a⁺ − a), which float32 resolves near
//                    the optimum where f(a⁺) and f(a) themselves agree to all their digits.
//   gradient scheme: ⟨y − a⁺, a⁺ − a⟩ > 0 → t = 1, y = a⁺
// otherwise t⁺ = (1 + √(1 + 4t²))/2, y = a⁺ + (t − 1)/t⁺ (a⁺ − a).
// Pixels of converged chunks (chunkOn[pix / segLen] == 0) are left alone.
// At a check iteration (flags & 2) every workgroup writes [Σ‖a⁺ − a‖², Σ‖a‖², Σ f(a⁺)] of its
// pixels to part[3 · (p0 / WG + workgroup)]; chunks are multiples of WG pixels, so a workgroup
// never straddles two chunks. The same algorithm in float64: src/modes/nnls.ts fistaChunk.

override WG: u32 = 64u;
override K: u32 = 4u;

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)
// p total pixels, k components, p0/pc the span, segLen pixels per chunk, flags 1 restart, 2 check.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> consts: array<f32>;   // [1/L, Q (k × k)]
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> chunkOn: array<u32>;
@group(0) @binding(4) var<storage, read_write> A: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<f32>;
@group(0) @binding(6) var<storage, read_write> S: array<f32>;
@group(0) @binding(7) var<storage, read_write> part: array<f32>;

const MAXK: u32 = 16u;
var<workgroup> red: array<vec3<f32>, WG>;

fn objective(v: ptr<function, array<f32, MAXK>>, b: ptr<function, array<f32, MAXK>>) -> f32 {
  var s = 0.0;
  for (var r = 0u; r < K; r++) {
    var qv = 0.0;
    for (var c = 0u; c < K; c++) { qv += consts[1u + r * K + c] * (*v)[c]; }
    s += (*v)[r] * (0.5 * qv - (*b)[r]);
  }
  return s;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(workgroup_id) wid: vec3<u32>) {
  let q = gid.x;
  let pix = P.p0 + q;
  var acc = vec3<f32>(0.0, 0.0, 0.0);
  var live = q < P.pc;
  if (live) { live = chunkOn[pix / P.segLen] != 0u; }
  if (live) {
    let invL = consts[0];
    let restart = (P.flags & 1u) != 0u;
    var a: array<f32, MAXK>;
    var y: array<f32, MAXK>;
    var b: array<f32, MAXK>;
    var an: array<f32, MAXK>;
    for (var c = 0u; c < K; c++) {
      a[c] = A[c * P.p + pix];
      y[c] = Y[c * P.p + pix];
      b[c] = B[c * P.p + pix];
    }
    for (var r = 0u; r < K; r++) {
      var g = -b[r];
      for (var c = 0u; c < K; c++) { g += consts[1u + r * K + c] * y[c]; }
      an[r] = max(y[r] - invL * g, 0.0);
    }
    let t = S[2u * pix];
    var tn = 1.0;
    var reject = false;
    if (restart) {
      // f(a⁺) − f(a) = dᵀ g(a) + ½ dᵀ Q d, d = a⁺ − a: no cancellation of the large f values.
      var ga: array<f32, MAXK>;
      var df = 0.0;
      for (var r = 0u; r < K; r++) {
        var g = -b[r];
        var qd = 0.0;
        for (var c = 0u; c < K; c++) {
          g += consts[1u + r * K + c] * a[c];
          qd += consts[1u + r * K + c] * (an[c] - a[c]);
        }
        ga[r] = g;
        df += (an[r] - a[r]) * (g + 0.5 * qd);
      }
      if (df > 0.0) {
        reject = true;
        for (var r = 0u; r < K; r++) {
          an[r] = max(a[r] - invL * ga[r], 0.0);
          y[r] = an[r];
        }
      }
    }
    if (!reject) {
      tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
      var gr = 0.0;
      if (restart) {
        for (var c = 0u; c < K; c++) { gr += (y[c] - an[c]) * (an[c] - a[c]); }
      }
      if (gr > 0.0) {
        tn = 1.0;
        for (var c = 0u; c < K; c++) { y[c] = an[c]; }
      } else {
        let beta = (t - 1.0) / tn;
        for (var c = 0u; c < K; c++) { y[c] = an[c] + beta * (an[c] - a[c]); }
      }
    }
    S[2u * pix] = tn;
    for (var c = 0u; c < K; c++) {
      let d = an[c] - a[c];
      acc.x += d * d;
      acc.y += a[c] * a[c];
      A[c * P.p + pix] = an[c];
      Y[c * P.p + pix] = y[c];
    }
    if ((P.flags & 2u) != 0u) { acc.z = objective(&an, &b); }
  }
  if ((P.flags & 2u) == 0u) { return; }
  red[li] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (li < s) { red[li] += red[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) {
    let o = 3u * (P.p0 / WG + wid.x);
    part[o] = red[0].x;
    part[o + 1u] = red[0].y;
    part[o + 2u] = red[0].z;
  }
}
