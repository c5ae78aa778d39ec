/**
 * ESPM conformance, plain KL (λ = μ = 0, no G, no simplex): Lee–Seung KL updates from ESPM's own
 * start, through the public estimator (normalize on, custom start, exactly 200 iterations).
 * Expected: float64 matches ESPM to ~1e-12 (the doc's §8: "bit-exact" up to summation order).
 */
import { describe, expect, test } from 'vitest';
import { fitSmoothNMF } from '../src/estimator.js';
import { expectClose } from './helpers/compare.js';
import { loadMatrix, toySetting } from './helpers/fixtures.js';

describe('ESPM toy, a_plain_kl', () => {
  test('iterates at 1, 10, 200, loss history and the returned factors', async () => {
    const s = toySetting('a_plain_kl');
    const X = loadMatrix('X.npy');
    const r = await fitSmoothNMF(X, {
      components: 3,
      normalize: true,
      W0: loadMatrix('a_plain_kl/W0.npy'),
      H0: loadMatrix('a_plain_kl/H0.npy'),
      maxIter: 200,
      noStop: true,
      lossEvery: 1,
      tol: 1e-6,
      snapshots: [1, 10, 200],
      backend: 'cpu',
    });
    expect(r.normFactor).toBeCloseTo(s.normFactor, 15);
    expect(r.nIter).toBe(200);
    expect(r.stopReason).toBe('max_iter');
    for (const it of [1, 10, 200]) {
      const tag = String(it).padStart(4, '0');
      const snap = r.snapshots.get(it)!;
      expectClose(snap.W.data, loadMatrix(`a_plain_kl/W_it${tag}.npy`).data, { rel: 1e-9 }, `W at ${it}`);
      expectClose(snap.H.data, loadMatrix(`a_plain_kl/H_it${tag}.npy`).data, { rel: 1e-9 }, `H at ${it}`);
    }
    // losses.npy: one row per iteration (1..200): full, KL, log, Laplacian, gamma, rel_W, rel_H.
    const L = loadMatrix('a_plain_kl/losses.npy');
    expect(r.losses.length).toBe(201);
    for (let it = 1; it <= 200; it++) {
      const ours = r.losses[it];
      expect(ours.iteration).toBe(it);
      const row = L.data.subarray((it - 1) * L.cols, it * L.cols);
      expectClose([ours.full, ours.kl], [row[0], row[1]], { rel: 1e-6 }, `loss at ${it}`);
      expectClose([ours.relW, ours.relH], [row[5], row[6]], { rel: 1e-6 }, `rel change at ${it}`);
    }
    // ESPM's returned W_ (rescaled_DH, then divided by the normalisation factor) and H.
    expectClose(r.W.data, loadMatrix('a_plain_kl/W.npy').data, { rel: 1e-8 }, 'final W');
    expectClose(r.H.data, loadMatrix('a_plain_kl/H.npy').data, { rel: 1e-8, abs: 1e-12 }, 'final H');
    expectClose(r.D.data, loadMatrix('a_plain_kl/GW.npy').data, { rel: 1e-8 }, 'final GW');
  });
});
