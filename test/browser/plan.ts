/**
 * Tests of test/gpu/ that do NOT run in the browser (Chromium, SwiftShader), each with its reason.
 * The runner marks them skipped and prints the list; where a smaller variant runs instead it lives
 * in test/browser/variants/ and the reason names it. Empty = everything runs in both.
 */
export interface NotInBrowser {
  /** Base name of the test file. */
  file: string;
  /** Matched against the full test name ("describe > test"). */
  test: RegExp;
  reason: string;
}

export const NOT_IN_BROWSER: NotInBrowser[] = [
  {
    file: 'fit.test.ts',
    test: /^GPU fit vs ESPM fixtures > (a_plain_kl|b_notebook)( \(GPU kernel variants\))?: iterations 1, 10, 200$/,
    reason:
      '200 iterations on the 200 × 10 000 toy take ~100 s per setting on SwiftShader (~5 s on lavapipe in Node); ' +
      'the browser runs test/browser/variants/espm-short.browser.ts instead (same fixtures and tolerances, iterations 1 and 10)',
  },
];
