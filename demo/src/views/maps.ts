/** Maps as images: viridis with a colour bar, and a false-colour composite of chosen maps. */
import { hexToRgb, OKABE_ITO, VIRIDIS } from './palette.js';
import { fmt } from './format.js';

export interface Range {
  min: number;
  max: number;
}

/** min and the given upper percentile of the finite values (percentile 100: the maximum). */
export function valueRange(values: ArrayLike<number>, percentile = 100): Range {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!Number.isFinite(min)) return { min: 0, max: 1 };
  if (percentile < 100) {
    const sorted = Float64Array.from(values).filter(Number.isFinite).sort();
    max = sorted[Math.min(sorted.length - 1, Math.floor((percentile / 100) * (sorted.length - 1)))]!;
  }
  if (max <= min) max = min + (Math.abs(min) || 1) * 1e-9 + 1e-300;
  return { min, max };
}

/** Draws values (rows × cols, row-major) into a canvas of that size with viridis. */
export function drawMap(canvas: HTMLCanvasElement, values: ArrayLike<number>, rows: number, cols: number, range: Range): void {
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(cols, rows);
  const span = range.max - range.min;
  for (let p = 0; p < rows * cols; p++) {
    const v = values[p]!;
    const o = p * 4;
    if (!Number.isFinite(v)) {
      img.data[o + 3] = 0;
      continue;
    }
    const t = Math.min(255, Math.max(0, Math.round(((v - range.min) / span) * 255)));
    img.data[o] = VIRIDIS[t * 3]!;
    img.data[o + 1] = VIRIDIS[t * 3 + 1]!;
    img.data[o + 2] = VIRIDIS[t * 3 + 2]!;
    img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** A horizontal viridis bar with the range's ends and middle written under it. */
export function colorBar(range: Range, label: string): HTMLElement {
  const wrap = document.createElement('div');
  wrap.className = 'colorbar';
  const bar = document.createElement('canvas');
  bar.width = 256;
  bar.height = 1;
  const ctx = bar.getContext('2d')!;
  const img = ctx.createImageData(256, 1);
  for (let i = 0; i < 256; i++) img.data.set([VIRIDIS[i * 3]!, VIRIDIS[i * 3 + 1]!, VIRIDIS[i * 3 + 2]!, 255], i * 4);
  ctx.putImageData(img, 0, 0);
  const ticks = document.createElement('div');
  ticks.className = 'ticks';
  for (const v of [range.min, (range.min + range.max) / 2, range.max]) {
    const s = document.createElement('span');
    s.textContent = fmt(v, 3);
    ticks.append(s);
  }
  const cap = document.createElement('div');
  cap.className = 'caption';
  cap.textContent = label;
  wrap.append(bar, ticks, cap);
  return wrap;
}

/** A figure: title, the map (scaled up, pixelated), its colour bar. */
export function mapFigure(title: string, values: ArrayLike<number>, rows: number, cols: number, opts: { percentile?: number; units?: string; testId?: string } = {}): HTMLElement {
  const fig = document.createElement('figure');
  fig.className = 'map';
  if (opts.testId) fig.dataset.testid = opts.testId;
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  const canvas = document.createElement('canvas');
  const range = valueRange(values, opts.percentile ?? 100);
  drawMap(canvas, values, rows, cols, range);
  canvas.title = `${title}: ${cols} × ${rows} pixels`;
  fig.append(cap, canvas, colorBar(range, opts.units ?? ''));
  return fig;
}

/**
 * Additive false-colour composite: each chosen map scaled to [0, 1] over its own range and
 * painted in its Okabe–Ito colour (the curve colour of that component in the spectra plot).
 */
export function drawComposite(canvas: HTMLCanvasElement, maps: ArrayLike<number>[], indices: readonly number[], rows: number, cols: number, percentile = 100): void {
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(cols, rows);
  const acc = new Float32Array(rows * cols * 3);
  for (const i of indices) {
    const m = maps[i];
    if (!m) continue;
    const r = valueRange(m, percentile);
    const rgb = hexToRgb(OKABE_ITO[i % OKABE_ITO.length]!);
    for (let p = 0; p < rows * cols; p++) {
      const t = Math.min(1, Math.max(0, (m[p]! - r.min) / (r.max - r.min)));
      for (let c = 0; c < 3; c++) acc[p * 3 + c] += t * rgb[c]!;
    }
  }
  for (let p = 0; p < rows * cols; p++) {
    for (let c = 0; c < 3; c++) img.data[p * 4 + c] = Math.min(255, Math.round(acc[p * 3 + c]!));
    img.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
