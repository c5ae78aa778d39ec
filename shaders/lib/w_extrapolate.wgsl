// Shared by w_update.wgsl and w_update_wg.wgsl (inlined at their `// #include` line): the
// extrapolation of W (SmoothNMFOptions.extrapolation, β at probs[PSTRIDE·b + 20]). Expects P,
// probs, Wout, Wprev and the overrides K, PSTRIDE of the including kernel.

/**
 * Entry o (= j·K + k) of problem b, once Wout holds the plain update W⁺: Wprev ← W⁺, and where
 * Params.flags has 64 (an extrapolated iteration) Wout ← max(W⁺ ∘ clamp(W⁺ / Wprev_old, 1/4, 4)^β, ε),
 * the next step's start, from which D is then formed (src/cpu/steps.ts `extrapolate`). Nothing
 * where β = 0.
 */
fn extrapolateW(b: u32, o: u32) {
  let beta = probs[b * PSTRIDE + 20u];
  if (beta == 0.0) { return; }
  let idx = b * P.m * K + o;
  let wn = Wout[idx];
  let wp = Wprev[idx];
  Wprev[idx] = wn;
  if ((P.flags & 64u) != 0u) { Wout[idx] = max(wn * pow(clamp(wn / wp, 0.25, 4.0), beta), P.eps); }
}
