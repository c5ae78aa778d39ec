/**
 * 'node:fs' in the browser bundle: the synchronous read-only calls the suites and their helpers
 * use (existsSync, readFileSync, readdirSync, statSync), answered by the runner's server
 * (test/browser/run.mjs) through synchronous XMLHttpRequest: GET /@fs/<absolute path> for bytes,
 * /@ls/<absolute path> for a directory listing. The server only answers under the repository and
 * the shared fixtures. Writes are refused loudly: a suite that writes files does not run here.
 */
const cache = new Map<string, Uint8Array>();

function request(method: 'GET' | 'HEAD', url: string): XMLHttpRequest {
  const xhr = new XMLHttpRequest();
  xhr.open(method, url, false);
  // A synchronous request in a window cannot ask for an ArrayBuffer: read the bytes as text.
  xhr.overrideMimeType('text/plain; charset=x-user-defined');
  xhr.send();
  return xhr;
}

const enoent = (path: string, call: string): Error =>
  Object.assign(new Error(`ENOENT: no such file or directory, ${call} '${path}'`), { code: 'ENOENT', path });

const pathOf = (p: string | URL): string => (typeof p === 'string' ? p : decodeURIComponent(p.pathname));
const fsUrl = (kind: '@fs' | '@ls', path: string): string => `/${kind}${encodeURI(path)}`;

function bytes(path: string): Uint8Array {
  const hit = cache.get(path);
  if (hit) return hit;
  const xhr = request('GET', fsUrl('@fs', path));
  if (xhr.status !== 200) throw enoent(path, 'open');
  const text = xhr.responseText;
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  if (out.length > 1 << 20) cache.set(path, out);
  return out;
}

export function existsSync(p: string | URL): boolean {
  return request('HEAD', fsUrl('@fs', pathOf(p))).status === 200;
}

export function readFileSync(p: string | URL, options?: BufferEncoding | { encoding?: BufferEncoding | null }): Uint8Array | string {
  const b = bytes(pathOf(p));
  const enc = typeof options === 'string' ? options : options?.encoding;
  if (enc) return new TextDecoder().decode(b);
  return b.slice();
}

export function readdirSync(p: string | URL): string[] {
  const path = pathOf(p);
  const xhr = request('GET', fsUrl('@ls', path));
  if (xhr.status !== 200) throw enoent(path, 'scandir');
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(xhr.responseText, (c) => c.charCodeAt(0) & 0xff))) as string[];
}

export function statSync(p: string | URL): { size: number; isFile(): boolean; isDirectory(): boolean } {
  const path = pathOf(p);
  const xhr = request('HEAD', fsUrl('@fs', path));
  if (xhr.status !== 200) throw enoent(path, 'stat');
  const dir = xhr.getResponseHeader('x-webnmf-kind') === 'dir';
  return { size: Number(xhr.getResponseHeader('x-webnmf-size') ?? 0), isFile: () => !dir, isDirectory: () => dir };
}

const refuse = (call: string) => (): never => {
  throw new Error(`node:fs ${call} is not available in the browser test run`);
};
export const writeFileSync = refuse('writeFileSync');
export const mkdirSync = refuse('mkdirSync');
export const rmSync = refuse('rmSync');

export default { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync, rmSync };
