// Shared by w_update.wgsl and w_update_wg.wgsl (inlined by scripts/embed-shaders.mjs at its
// `// #include` line): colsum(G), and the per-column simplex on W. Both expect P, probs, G, Wout
// and the overrides K, PSTRIDE of the including kernel.

fn gsum(j: u32) -> f32 {
  if ((P.flags & 1u) != 0u) { return G[P.n * P.m + j]; }
  return 1.0;
}

/**
 * Simplex on W (KL), column kk of problem b: Wout holds the numerators W ∘ (Gᵀ wnum) on entry and
 * W⁺ = max(num / (colsum(G)_j · rsum + ν_k), ε) on return, ν_k ESPM's multiplier making the column
 * sum to 1 (Newton safeguarded by bisection). Solved for ν + min den, not ν: see h_update.wgsl.
 */
fn simplexColumn(b: u32, kk: u32, rsum: f32) {
  let m = P.m;
  let wb = b * m * K;
  let tol = probs[b * PSTRIDE + 3u];
  var dmin = 3.0e38;
  for (var j = 0u; j < m; j++) { dmin = min(dmin, gsum(j) * rsum); }
  var lo = -3.0e38;
  var maxNum = -3.0e38;
  var minDen = 3.0e38;
  for (var j = 0u; j < m; j++) {
    let nv = Wout[wb + j * K + kk];
    let dv = gsum(j) * rsum - dmin;
    if (nv > 0.0) { lo = max(lo, nv * 0.5 - dv); }
    maxNum = max(maxNum, nv);
    minDen = min(minDen, dv);
  }
  var hi = 2.0 * f32(m) * maxNum - minDen;
  var x = 0.5 * (lo + hi);
  for (var it = 0u; it < 100u; it++) {
    var s = 0.0;
    var ds = 0.0;
    for (var j = 0u; j < m; j++) {
      let dv = (gsum(j) * rsum - dmin) + x;
      let t = Wout[wb + j * K + kk] / dv;
      if (t > P.eps) { s += t; ds -= t / dv; } else { s += P.eps; }
    }
    let fx = s - 1.0;
    if (abs(fx) <= tol) { break; }
    if (fx > 0.0) { lo = x; } else { hi = x; }
    var nxt = x - fx / ds;
    if (!(ds < 0.0) || !(nxt > lo && nxt < hi)) { nxt = 0.5 * (lo + hi); }
    if (nxt == x || hi - lo <= abs(x) * 1.2e-7) { break; }
    x = nxt;
  }
  for (var j = 0u; j < m; j++) {
    let idx = wb + j * K + kk;
    Wout[idx] = max(Wout[idx] / ((gsum(j) * rsum - dmin) + x), P.eps);
  }
}
