// The extrapolation of H (SmoothNMFOptions.extrapolation), after the W step has read H⁺: one
// thread per 4 pixels, in place. H holds the plain update H⁺ and becomes the next H step's start
// Y = max(H⁺ ∘ clamp(H⁺ / Hprev, 1/4, 4)^β, ε) (src/cpu/steps.ts `extrapolate`), each pixel
// rescaled to sum 1 under the simplex on H; Hprev
// (the previous plain update) becomes H⁺. Per pixel only, so no thread reads another's pixels.
// Iterations that are sampled stay plain: the host copies H⁺ into Hprev instead of dispatching this.

override WG: u32 = 64u;
override K: u32 = 3u;
override PSTRIDE: u32 = 32u;
const MAXK: u32 = 16u;

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)
// flags: 2 = simplex on H. H is k × pPad per problem; padding pixels hold 0 and keep it.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read_write> H: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Hprev: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let b = wid.y;
  let q = gid.x;
  if (q * 4u >= P.p) { return; }
  let beta = probs[b * PSTRIDE + 20u];
  let stride = P.pPad / 4u;
  let base = b * K * stride + q;
  let live = vec4<u32>(q * 4u) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(P.p);
  var y: array<vec4<f32>, MAXK>;
  var s = vec4<f32>(0.0);
  for (var kk = 0u; kk < K; kk++) {
    let i = base + kk * stride;
    let h = H[i];
    let hp = Hprev[i];
    Hprev[i] = h;
    // padding lanes hold 0/0 here; they are written back as 0 below
    let v = max(h * pow(clamp(h / hp, vec4<f32>(0.25), vec4<f32>(4.0)), vec4<f32>(beta)), vec4<f32>(P.eps));
    y[kk] = v;
    s += v;
  }
  let unit = (P.flags & 2u) != 0u;
  for (var kk = 0u; kk < K; kk++) {
    let v = select(y[kk], y[kk] / s, unit);
    H[base + kk * stride] = select(vec4<f32>(0.0), v, live);
  }
}
