/**
 * 'webgpu' (Dawn for Node) in the browser bundle: the browser's own navigator.gpu. Lets a suite
 * that acquires a device of its own through `(await import('webgpu')).create([])` run unchanged.
 */
export function create(_flags: string[] = []): GPU {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) throw new Error('navigator.gpu is undefined in this browser');
  return gpu;
}

/** The GPU* constants already exist in a browser. */
export const globals: Record<string, unknown> = {};
