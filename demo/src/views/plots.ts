/**
 * Small SVG line plots: the spectra (the library's `spectraSvg`, against the energy axis), and
 * x–y plots for the loss curve, auto's validation curve and PCA's scree plot.
 */
import { niceTicks, OKABE_ITO, spectraSvg, type Curve } from '../../../src/io/plot.js';
import type { Axis } from '../../../src/io/readers/cube.js';
import { fmt } from './format.js';

export function svgElement(svgText: string, testId?: string): HTMLElement {
  const div = document.createElement('div');
  div.className = 'plot';
  if (testId) div.dataset.testid = testId;
  div.innerHTML = svgText;
  return div;
}

/** Spectra (channels × k, row-major) against the signal axis, labelled with its name and units. */
export function spectraPlot(D: ArrayLike<number>, channels: number, k: number, axis: Axis, title: string, labels?: string[]): string {
  const curves: Curve[] = [];
  for (let c = 0; c < k; c++) {
    const values = new Float64Array(channels);
    for (let i = 0; i < channels; i++) values[i] = D[i * k + c]!;
    curves.push({ label: labels?.[c] ?? `component ${c}`, values });
  }
  const calibrated = axis.scale !== 1 || axis.offset !== 0 || axis.units !== '';
  return spectraSvg(curves, {
    title,
    ...(calibrated ? { energy: { offset: axis.offset, scale: axis.scale, units: axis.units } } : {}),
    xLabel: calibrated ? `${axis.name || 'Energy'}${axis.units ? ` (${axis.units})` : ''}` : 'channel',
    yLabel: 'intensity',
    width: 720,
    height: 360,
  });
}

export interface Series {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
  /** Mark the points (validation, scree). */
  points?: boolean;
}

export interface XYOptions {
  title?: string;
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  width?: number;
  height?: number;
  /** Tick labels at x = 0, 1, … instead of numeric ticks (categorical x). */
  xCategories?: string[];
  /** Points to ring (e.g. the chosen candidate). */
  highlight?: { x: number; y: number; label: string };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function xyPlotSvg(series: readonly Series[], o: XYOptions): string {
  const W = o.width ?? 420;
  const H = o.height ?? 220;
  const legend = series.length > 1 ? 110 : 0;
  const m = { left: 64, right: 14 + legend, top: o.title ? 28 : 10, bottom: 40 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const ty = (v: number) => (o.logY ? Math.log10(v) : v);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!, y = ty(s.y[i]!);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  if (!Number.isFinite(x0)) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y1 = y0 + (Math.abs(y0) || 1) * 0.01; y0 -= (Math.abs(y0) || 1) * 0.01; }
  const pad = (y1 - y0) * 0.06;
  y0 -= pad; y1 += pad;
  if (o.xCategories) { x0 -= 0.3; x1 += 0.3; }
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const p: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`];
  p.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (o.title) p.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(o.title)}</text>`);
  p.push(`<path d="M${m.left},${m.top}V${m.top + ph}H${m.left + pw}" fill="none" stroke="#333"/>`);
  const xt = o.xCategories ? o.xCategories.map((_, i) => i) : niceTicks(x0, x1, 5);
  xt.forEach((t, i) => {
    const x = sx(t).toFixed(1);
    p.push(`<line x1="${x}" x2="${x}" y1="${m.top + ph}" y2="${m.top + ph + 4}" stroke="#333"/>`);
    p.push(`<text x="${x}" y="${m.top + ph + 16}" text-anchor="middle">${esc(o.xCategories ? o.xCategories[i]! : fmt(t, 4))}</text>`);
  });
  for (const t of niceTicks(y0, y1, 4)) {
    const y = sy(t).toFixed(1);
    p.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    p.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(fmt(o.logY ? 10 ** t : t, 3))}</text>`);
  }
  p.push(`<text x="${m.left + pw / 2}" y="${H - 6}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  p.push(`<text transform="translate(13,${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel + (o.logY ? ' (log)' : ''))}</text>`);
  series.forEach((s, si) => {
    const color = s.color ?? OKABE_ITO[si % OKABE_ITO.length]!;
    let d = '';
    let pen = false;
    const dots: string[] = [];
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!, y = ty(s.y[i]!);
      if (!Number.isFinite(x) || !Number.isFinite(y)) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      pen = true;
      if (s.points) dots.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    }
    p.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"/>`, ...dots);
    if (legend) {
      const ly = m.top + 6 + si * 15;
      p.push(`<line x1="${W - legend}" x2="${W - legend + 16}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
      p.push(`<text x="${W - legend + 20}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`);
    }
  });
  if (o.highlight && Number.isFinite(ty(o.highlight.y))) {
    const hx = sx(o.highlight.x).toFixed(1), hy = sy(ty(o.highlight.y)).toFixed(1);
    p.push(`<circle cx="${hx}" cy="${hy}" r="6" fill="none" stroke="#000" stroke-width="1.5"/>`);
    p.push(`<text x="${hx}" y="${(Number(hy) - 9).toFixed(1)}" text-anchor="middle">${esc(o.highlight.label)}</text>`);
  }
  p.push('</svg>');
  return p.join('');
}
