/** 'node:path' in the browser bundle: POSIX join, dirname, basename, extname, resolve. */
export const sep = '/';

export function normalize(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else if (part !== '..' || !abs) out.push(part);
  }
  const s = (abs ? '/' : '') + out.join('/');
  return s === '' ? '.' : s;
}

export const join = (...parts: string[]): string => normalize(parts.filter((p) => p !== '').join('/'));
export const resolve = (...parts: string[]): string => {
  let acc = '';
  for (const p of parts) acc = p.startsWith('/') ? p : `${acc}/${p}`;
  return normalize(acc.startsWith('/') ? acc : `/${acc}`);
};
export const dirname = (p: string): string => {
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
};
export const basename = (p: string, ext?: string): string => {
  const b = p.replace(/\/+$/, '').split('/').pop() ?? '';
  return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
};
export const extname = (p: string): string => {
  const b = basename(p);
  const i = b.lastIndexOf('.');
  return i <= 0 ? '' : b.slice(i);
};
export default { sep, normalize, join, resolve, dirname, basename, extname };
