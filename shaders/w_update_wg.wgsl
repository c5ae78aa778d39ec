// W update for GPUs: the same results as w_update.wgsl, with the whole workgroup working on each
// problem (one workgroup per problem) instead of one thread per component column. There, each of
// K threads runs the n·m products Gᵀ wnum and G W⁺ alone: cheap on a CPU adapter, but on a GPU
// one thread's serial loop of dependent loads cost 5–22 ms per iteration (H100, 512–2048
// channels), more than the passes over X. Here:
//   - every sum over the channels (Gᵀ wnum, Gᵀ D, DᵀD) is split over LANES threads and reduced in
//     workgroup memory, SLOTS = WG / LANES outputs at a time;
//   - D = G W⁺ takes one thread per entry (i, k), and colsum(D) one tree reduction per column;
//   - the per-column simplex solve (simplex on W only) stays one thread per column.
//   KL:        W⁺ = max(W ∘ (Gᵀ wnum) / (colsum(G)_j · rowsum(H⁺)_k + ν_k), ε)
//   Frobenius: W⁺ = max(W ∘ (Gᵀ wnum) / (GᵀG W H⁺H⁺ᵀ), ε), then DᵀD for the next H step.
// WG must be a power of two, LANES ≤ WG ≤ MAXWG.

override WG: u32 = 256u;
override K: u32 = 3u;
override PSTRIDE: u32 = 32u;
override SSTRIDE: u32 = 576u;
// small (per batch, stride SSTRIDE): [0, K) colsum D, [16, 16+K) row sums of H, [32, 32+K) row max of H,
// [48, 48+K*K) DᵀD (Frobenius), [304, 304+K*K) H Hᵀ (Frobenius), [560, 560+K) Σ_i max(D_ik, ε)
const MAXK: u32 = 16u;
const MAXWG: u32 = 256u;
const LANES: u32 = 32u;

// #include "lib/params.wgsl"   (struct Params: src/gpu/kernels.ts PARAMS_LAYOUT)
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

var<workgroup> red: array<f32, MAXWG>;
var<workgroup> red2: array<f32, MAXWG>;

// #include "lib/w_simplex.wgsl"   (gsum, simplexColumn)
// #include "lib/w_extrapolate.wgsl"   (extrapolateW)

/** Sums red over each slot's LANES entries into the slot's first; every thread calls it. */
fn laneSum(t: u32) {
  for (var s = LANES / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (t % LANES < s) { red[t] += red[t + s]; }
  }
  workgroupBarrier();
}

/** Sums red and red2 over the workgroup into entry 0; every thread calls it. */
fn groupSum2(t: u32) {
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (t < s) { red[t] += red[t + s]; red2[t] += red2[t + s]; }
  }
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let b = wid.y;
  let m = P.m;
  let n = P.n;
  let wb = b * m * K;
  let db = b * n * K;
  let sb = b * SSTRIDE;
  let hasG = (P.flags & 1u) != 0u;
  let frob = (P.flags & 8u) != 0u;
  let simplexW = (P.flags & 4u) != 0u;
  let lane = t % LANES;
  let slot = t / LANES;
  let slots = WG / LANES;
  let mk = m * K;

  // Frobenius with G: the denominator (GᵀG W H⁺H⁺ᵀ)_jk = Σ_c (Gᵀ D)_jc (H⁺H⁺ᵀ)_ck with the old D,
  // formed into Wout: first Gᵀ D, then row by row (one thread owns a row) times H⁺H⁺ᵀ.
  if (frob && hasG) {
    for (var o0 = 0u; o0 < mk; o0 += slots) {
      let o = o0 + slot;
      let j = o / K;
      let c = o - j * K;
      var s = 0.0;
      if (o < mk) { for (var i = lane; i < n; i += LANES) { s += G[i * m + j] * D[db + i * K + c]; } }
      red[t] = s;
      laneSum(t);
      if (lane == 0u && o < mk) { Wout[wb + o] = red[t]; }
    }
    storageBarrier();
    for (var j = t; j < m; j += WG) {
      var gd: array<f32, MAXK>;
      for (var c = 0u; c < K; c++) { gd[c] = Wout[wb + j * K + c]; }
      for (var kk = 0u; kk < K; kk++) {
        var den = 0.0;
        for (var c = 0u; c < K; c++) { den += gd[c] * small[sb + 304u + c * K + kk]; }
        Wout[wb + j * K + kk] = den;
      }
    }
    storageBarrier();
  }

  // The numerator W ∘ (Gᵀ wnum) and the update of each entry o = j·K + k. With G, a slot of LANES
  // threads sums over the channels and its first lane owns the entry; without G, one thread each.
  let step = select(WG, slots, hasG);
  for (var o0 = 0u; o0 < mk; o0 += step) {
    var o = o0 + t;
    var g = 0.0;
    var owner = o < mk;
    if (hasG) {
      o = o0 + slot;
      let j = o / K;
      let kk = o - j * K;
      if (o < mk) { for (var i = lane; i < n; i += LANES) { g += G[i * m + j] * wnum[db + i * K + kk]; } }
      red[t] = g;
      laneSum(t);
      g = red[t];
      owner = lane == 0u && o < mk;
    } else if (owner) {
      g = wnum[db + o];   // m = n: entry (i, k) of wnum
    }
    if (owner) {
      let j = o / K;
      let kk = o - j * K;
      let num = Win[wb + o] * g;
      if (frob) {
        var den = 0.0;
        if (hasG) {
          den = Wout[wb + o];   // formed above, by this thread's row owner, before the barrier
        } else {
          for (var c = 0u; c < K; c++) { den += Win[wb + j * K + c] * small[sb + 304u + c * K + kk]; }
        }
        Wout[wb + o] = max(num / den, P.eps);
      } else if (simplexW) {
        Wout[wb + o] = num;   // finished below, once ν_k is known
      } else {
        Wout[wb + o] = max(num / (gsum(j) * small[sb + 16u + kk]), P.eps);
      }
    }
  }
  storageBarrier();

  // Simplex on W (KL): ESPM's per-column multiplier ν_k, one thread per column (as w_update.wgsl).
  if (simplexW && !frob) {
    if (t < K) { simplexColumn(b, t, small[sb + 16u + t]); }
    storageBarrier();
  }

  // Extrapolation (β > 0): the next step's start, entry by entry, before D is formed from it.
  for (var o = t; o < mk; o += WG) { extrapolateW(b, o); }
  storageBarrier();

  // D = G W⁺ (one thread per entry), colsum(D) and Σ_i max(D_ik, ε) (tree per column).
  var cs: array<f32, MAXK>;
  var csc: array<f32, MAXK>;   // Σ_i max(D_ik, ε): the sparse loss's Σ_i Y_ip (loss.wgsl)
  for (var o = t; o < n * K; o += WG) {
    let i = o / K;
    let kk = o - i * K;
    var d = 0.0;
    if (hasG) {
      for (var j = 0u; j < m; j++) { d += G[i * m + j] * Wout[wb + j * K + kk]; }
    } else {
      d = Wout[wb + o];
    }
    D[db + o] = d;
    cs[kk] += d;
    csc[kk] += max(d, P.eps);
  }
  for (var kk = 0u; kk < K; kk++) {
    red[t] = cs[kk];
    red2[t] = csc[kk];
    groupSum2(t);
    if (t == 0u) {
      small[sb + kk] = red[0];
      small[sb + 560u + kk] = red2[0];
    }
  }

  // Frobenius: DᵀD for the next H step, each of its K² sums split over a slot's lanes.
  if (frob) {
    storageBarrier();
    for (var o0 = 0u; o0 < K * K; o0 += slots) {
      let o = o0 + slot;
      let a = o / K;
      let c = o - a * K;
      var s = 0.0;
      if (o < K * K) { for (var i = lane; i < n; i += LANES) { s += D[db + i * K + a] * D[db + i * K + c]; } }
      red[t] = s;
      laneSum(t);
      if (lane == 0u && o < K * K) { small[sb + 48u + o] = red[t]; }
    }
  }
}
