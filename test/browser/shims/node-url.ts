/** 'node:url' in the browser bundle: the two helpers the suites use, over file: URLs. */
export function fileURLToPath(url: string | URL): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  if (u.protocol !== 'file:') throw new TypeError(`fileURLToPath: not a file URL: ${u.href}`);
  return decodeURIComponent(u.pathname);
}

export function pathToFileURL(path: string): URL {
  return new URL(`file://${encodeURI(path)}`);
}
