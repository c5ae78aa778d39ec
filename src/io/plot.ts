/**
 * Spectra as an SVG line plot (no dependency): k curves against the channel index or an energy
 * axis, with axis labels, ticks and a legend. Colours: Okabe & Ito (2008), "Color Universal
 * Design", distinguishable with the common colour-vision deficiencies.
 */

/** Okabe–Ito palette (black moved last so the first curves are coloured). */
export const OKABE_ITO = ['#E69F00', '#56B4E9', '#009E73', '#0072B2', '#D55E00', '#CC79A7', '#F0E442', '#000000'] as const;

export interface EnergyAxis {
  /** Energy of channel 0. */
  readonly offset: number;
  /** Energy step per channel. */
  readonly scale: number;
  /** Units, e.g. 'keV'. */
  readonly units?: string;
}

export interface Curve {
  readonly label: string;
  readonly values: ArrayLike<number>;
  /** Default: the palette colour of the curve's index (or of `colorIndex`). */
  readonly color?: string;
  readonly colorIndex?: number;
  /** Draw dashed (e.g. a reference curve). */
  readonly dashed?: boolean;
}

export interface SpectraPlotOptions {
  readonly title?: string;
  /** Channel → x: offset + scale · channel. Absent: x is the channel index. */
  readonly energy?: EnergyAxis;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly width?: number;
  readonly height?: number;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** "Nice" ticks (1, 2, 5 × 10^n) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return [];
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return out;
}

const fmtTick = (v: number) => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(6)));
};

/** An SVG document (a string) plotting each curve; non-finite values break the line. */
export function spectraSvg(curves: readonly Curve[], options: SpectraPlotOptions = {}): string {
  const W = options.width ?? 720;
  const H = options.height ?? 420;
  const m = { left: 70, right: 20 + (curves.length > 0 ? 150 : 0), top: options.title ? 36 : 16, bottom: 52 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const e = options.energy;
  const xOf = (ch: number) => (e ? e.offset + e.scale * ch : ch);
  const n = Math.max(0, ...curves.map((c) => c.values.length));
  let x0 = xOf(0);
  let x1 = xOf(Math.max(0, n - 1));
  if (x1 < x0) [x0, x1] = [x1, x0];
  if (x1 === x0) x1 = x0 + 1;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const c of curves) {
    for (let i = 0; i < c.values.length; i++) {
      const v = c.values[i]!;
      if (Number.isFinite(v)) {
        y0 = Math.min(y0, v);
        y1 = Math.max(y1, v);
      }
    }
  }
  if (!Number.isFinite(y0)) {
    y0 = 0;
    y1 = 1;
  }
  y0 = Math.min(0, y0);
  if (y1 <= y0) y1 = y0 + 1;
  y1 += (y1 - y0) * 0.05;
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const f = (v: number) => v.toFixed(2);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  if (options.title) parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(options.title)}</text>`);
  // Axes, ticks, grid.
  parts.push(`<g stroke="#333" stroke-width="1">`);
  parts.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}"/>`);
  parts.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}"/>`);
  parts.push(`</g>`);
  const ticks: string[] = [];
  for (const t of niceTicks(x0, x1)) {
    const x = f(sx(t));
    ticks.push(`<line x1="${x}" y1="${m.top + ph}" x2="${x}" y2="${m.top + ph + 5}" stroke="#333"/>`);
    ticks.push(`<text x="${x}" y="${m.top + ph + 18}" text-anchor="middle">${esc(fmtTick(t))}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    const y = f(sy(t));
    ticks.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#ddd"/>`);
    ticks.push(`<line x1="${m.left - 5}" y1="${y}" x2="${m.left}" y2="${y}" stroke="#333"/>`);
    ticks.push(`<text x="${m.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(fmtTick(t))}</text>`);
  }
  parts.push(`<g class="ticks">${ticks.join('')}</g>`);
  const xLabel = options.xLabel ?? (e ? `Energy${e.units ? ` (${e.units})` : ''}` : 'Channel');
  const yLabel = options.yLabel ?? 'Intensity';
  parts.push(`<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(
    `<text x="16" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.top + ph / 2})">${esc(yLabel)}</text>`,
  );
  // Curves: one <path> each.
  const colorOf = (c: Curve, i: number) => c.color ?? OKABE_ITO[(c.colorIndex ?? i) % OKABE_ITO.length]!;
  curves.forEach((c, i) => {
    let d = '';
    let pen = false;
    for (let j = 0; j < c.values.length; j++) {
      const v = c.values[j]!;
      if (!Number.isFinite(v)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${f(sx(xOf(j)))} ${f(sy(v))}`;
      pen = true;
    }
    const dash = c.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<path d="${d}" fill="none" stroke="${colorOf(c, i)}" stroke-width="1.5"${dash}><title>${esc(c.label)}</title></path>`);
  });
  // Legend.
  if (curves.length > 0) {
    const lx = m.left + pw + 14;
    const items = curves.map((c, i) => {
      const y = m.top + 10 + i * 18;
      const dash = c.dashed ? ' stroke-dasharray="6 4"' : '';
      return (
        `<line x1="${lx}" y1="${y}" x2="${lx + 24}" y2="${y}" stroke="${colorOf(c, i)}" stroke-width="2"${dash}/>` +
        `<text x="${lx + 30}" y="${y}" dominant-baseline="middle">${esc(c.label)}</text>`
      );
    });
    parts.push(`<g class="legend">${items.join('')}</g>`);
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
