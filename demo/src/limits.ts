/** What the browser app can hold: one place for the limit and its message. */

/**
 * Largest file the app reads: the bytes, the cube, the solver's float64 copy of X and the maps
 * must all fit in one tab (browsers cap a tab at a few GiB).
 */
export const MAX_FILE_BYTES = 1024 * 2 ** 20;

export const formatBytes = (b: number): string =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b} B`;

export function sizeLimitMessage(name: string, size: number): string {
  return (
    `${name} is ${formatBytes(size)}; the browser app reads files up to ${formatBytes(MAX_FILE_BYTES)} ` +
    '(the cube, its float64 copy for the solver and the maps must fit in one tab). Bin or crop it first ' +
    '(HyperSpy: s.rebin(scale=(2, 2, 1)) or s.inav[...]), or fit it with the command line: webnmf fit.'
  );
}
