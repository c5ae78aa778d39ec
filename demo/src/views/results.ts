/** What a person sees after loading (overview) and after a fit (summary, maps, spectra, curves). */
import type { DatasetInfo, LossPoint, ResultData } from '../protocol.js';
import { MODES, type DisplayState } from '../state.js';
import { formatBytes } from '../limits.js';
import { fmt, seconds } from './format.js';
import { drawComposite, mapFigure } from './maps.js';
import { OKABE_ITO } from './palette.js';
import { spectraPlot, svgElement, xyPlotSvg } from './plots.js';

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { testid?: string } = {}, ...children: (Node | string)[]) => {
  const e = document.createElement(tag);
  const { testid, ...rest } = props;
  Object.assign(e, rest);
  if (testid) e.dataset.testid = testid;
  e.append(...children);
  return e;
};

function table(rows: [string, string, string?][], testid: string): HTMLTableElement {
  const t = el('table', { className: 'summary', testid });
  for (const [k, v, id] of rows) {
    const td = el('td', id ? { testid: id } : {}, v);
    t.append(el('tr', {}, el('th', {}, k), td));
  }
  return t;
}

const axisText = (a: DatasetInfo['signalAxis']) =>
  `${a.name || '(unnamed)'}: ${a.size} points${a.scale !== 1 || a.offset !== 0 || a.units ? `, ${fmt(a.offset, 5)} to ${fmt(a.offset + a.scale * (a.size - 1), 5)} ${a.units} (step ${fmt(a.scale, 4)})` : ' (uncalibrated)'}`;

/** Right after loading: the data's description, the sum image and the mean spectrum. */
export function renderOverview(info: DatasetInfo, sumImage: Float32Array, meanSpectrum: Float64Array, timing: string, warnings: string[]): HTMLElement {
  const rows: [string, string, string?][] = [
    ['source', info.source, 'info-source'],
    ['format', info.format, 'info-format'],
    ['pixels', `${info.rows} × ${info.cols} (rows × cols)`, 'info-pixels'],
    ['channels', String(info.channels), 'info-channels'],
    ['signal axis', axisText(info.signalAxis), 'info-axis'],
    ...info.navigationAxes.map((a, i): [string, string] => [`navigation axis ${i}`, axisText(a)]),
  ];
  if (info.slices) rows.push(['slices', `${info.slices} (showing slice ${info.slice})`]);
  if (info.fileBytes) rows.push(['file size', formatBytes(info.fileBytes)]);
  if (info.title) rows.push(['title', info.title]);
  rows.push(['shown in', timing, 'info-timing']);
  const box = el('div', { className: 'panel' }, el('h3', {}, 'Data'), table(rows, 'data-table'));
  for (const w of warnings) box.append(el('p', { className: 'help' }, `⚠ ${w}`));
  const grid = el('div', { className: 'grid' });
  grid.append(mapFigure('total counts per pixel', sumImage, info.rows, info.cols, { units: 'counts', testId: 'sum-image' }));
  grid.append(svgElement(spectraPlot(meanSpectrum, info.channels, 1, info.signalAxis, 'mean spectrum', ['mean']), 'mean-spectrum'));
  box.append(grid);
  return box;
}

export function lossSvg(losses: readonly { iteration: number; full: number }[], title = 'loss'): string {
  return xyPlotSvg([{ label: 'loss', x: losses.map((l) => l.iteration), y: losses.map((l) => l.full), color: OKABE_ITO[3], points: losses.length < 40 }], {
    title,
    xLabel: 'iteration',
    yLabel: 'loss per element',
    logY: losses.every((l) => l.full > 0),
    width: 380,
    height: 200,
  });
}

export interface ResultHandlers {
  onComposite(indices: number[]): void;
  exports: { label: string; testid: string; run: () => void | Promise<void> }[];
}

export function renderResult(r: ResultData, info: DatasetInfo, display: DisplayState, h: ResultHandlers): HTMLElement {
  const root = el('div', { testid: 'result' });
  const mode = MODES.find((m) => m.id === r.mode)!;
  const last: LossPoint | undefined = r.losses.at(-1);
  const rows: [string, string, string?][] = [
    ['mode', mode.label, 'sum-mode'],
    ['components', String(r.k), 'sum-k'],
    ['backend', `${r.backend} · ${r.backendInfo}`, 'sum-backend'],
    ['iterations', String(r.nIter), 'sum-iterations'],
    ['stopped by', r.stopReason, 'sum-stop'],
  ];
  if (last) rows.push(['final loss', fmt(last.full), 'sum-loss']);
  const names: Record<string, string> = { lambda: 'λ', mu: 'μ', G: 'known spectra G', error: 'final error' };
  for (const [key, v] of Object.entries(r.used)) {
    if (v === undefined || v === 'none') continue;
    rows.push([names[key] ?? key, typeof v === 'number' ? fmt(v) : String(v), `sum-${key}`]);
  }
  if (r.auto) rows.push(['bin', r.auto.bin], ['auto stages', Object.entries(r.auto.stages).map(([k, v]) => `${k} ${seconds(v)}`).join(' · ')]);
  rows.push(['time', `solve ${seconds(r.seconds.solve)} · fit ${seconds(r.seconds.total)} · wall ${seconds(r.seconds.wall)}`, 'sum-time']);
  if (r.truth) rows.push(['vs. the known truth', `mean spectral angle ${fmt(r.truth.meanAngle, 3)}° · mean map R² ${fmt(r.truth.meanR2, 3)}`, 'sum-truth']);
  root.append(el('div', { className: 'panel' }, el('h3', {}, 'Summary'), table(rows, 'summary')));
  for (const w of r.warnings) root.append(el('p', { className: 'help' }, `⚠ ${w}`));

  // Maps.
  const n = info.rows * info.cols;
  const maps = Array.from({ length: r.k }, (_, c) => r.H.subarray(c * n, (c + 1) * n));
  const grid = el('div', { className: 'grid', testid: 'maps' });
  maps.forEach((m, c) => {
    const fig = mapFigure(`component ${c}`, m, info.rows, info.cols, { percentile: display.clipPercentile, units: r.mode === 'pca' ? 'score' : 'abundance', testId: `map-${c}` });
    const sw = el('span', { className: 'swatch' });
    sw.style.background = OKABE_ITO[c % OKABE_ITO.length]!;
    fig.querySelector('figcaption')!.prepend(sw);
    grid.append(fig);
  });
  root.append(el('div', { className: 'panel' }, el('h3', {}, 'Maps'), grid));

  // Spectra.
  root.append(el('div', { className: 'panel' }, el('h3', {}, 'Spectra'), svgElement(spectraPlot(r.D, r.channels, r.k, info.signalAxis, 'component spectra'), 'spectra')));

  // Composite.
  const comp = el('div', { className: 'panel', id: 'composite' }, el('h3', {}, 'False-colour composite'));
  const chosen = new Set(display.composite.filter((c) => c < r.k));
  const canvas = el('canvas', { testid: 'composite' });
  const redraw = () => drawComposite(canvas, maps, [...chosen].sort(), info.rows, info.cols, display.clipPercentile);
  const boxes = el('div');
  maps.forEach((_, c) => {
    const cb = el('input', { type: 'checkbox', checked: chosen.has(c) });
    cb.addEventListener('change', () => {
      if (cb.checked) chosen.add(c);
      else chosen.delete(c);
      redraw();
      h.onComposite([...chosen].sort());
    });
    const sw = el('span', { className: 'swatch' });
    sw.style.background = OKABE_ITO[c % OKABE_ITO.length]!;
    boxes.append(el('label', {}, cb, sw, `component ${c}`));
  });
  redraw();
  comp.append(boxes, canvas);
  root.append(comp);

  // Curves.
  const curves = el('div', { className: 'grid' });
  if (r.losses.length > 1) curves.append(svgElement(lossSvg(r.losses, r.mode === 'auto' ? 'loss (full-resolution fine-tune)' : 'loss'), 'loss-curve'));
  if (r.auto) curves.append(svgElement(validationSvg(r), 'validation-curve'));
  if (r.pca) {
    const e = (r.pca.scree ?? r.pca.explained).slice(0, 50);
    curves.append(svgElement(xyPlotSvg([{ label: 'explained', x: e.map((_, i) => i + 1), y: e, points: true }], { title: 'scree plot', xLabel: 'component', yLabel: 'explained variance ratio', logY: e.every((v) => v > 0) }), 'scree'));
  }
  if (curves.childElementCount) root.append(el('div', { className: 'panel' }, el('h3', {}, 'Curves'), curves));

  // Exports.
  const ex = el('div', { className: 'row' });
  for (const e of h.exports) {
    const b = el('button', { type: 'button', testid: e.testid }, e.label);
    b.addEventListener('click', () => void e.run());
    ex.append(b);
  }
  root.append(el('div', { className: 'panel' }, el('h3', {}, 'Export'), ex));
  return root;
}

/** Auto's held-out deviance against λ (binned level), one line per μ (and k), the choice ringed. */
function validationSvg(r: ResultData): string {
  const v = r.auto!.validation.filter((c) => Number.isFinite(c.score));
  const lambdas = [...new Set(v.map((c) => c.lambdaBinned))].sort((a, b) => a - b);
  const groups = new Map<string, typeof v>();
  for (const c of v) {
    const key = `${new Set(v.map((q) => q.k)).size > 1 ? `k=${c.k} ` : ''}μ=${fmt(c.mu, 3)}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const series = [...groups].map(([label, cs]) => {
    const s = [...cs].sort((a, b) => a.lambdaBinned - b.lambdaBinned);
    return { label, x: s.map((c) => lambdas.indexOf(c.lambdaBinned)), y: s.map((c) => c.score), points: true };
  });
  const best = v.find((c) => c.k === r.k && c.lambdaBinned === r.auto!.lambdaBinned && c.mu === r.used.mu);
  return xyPlotSvg(series, {
    title: 'validation: held-out deviance',
    xLabel: 'λ (binned level)',
    yLabel: 'deviance per count',
    xCategories: lambdas.map((l) => fmt(l, 3)),
    width: 520,
    height: 240,
    ...(best ? { highlight: { x: lambdas.indexOf(best.lambdaBinned), y: best.score, label: 'chosen' } } : {}),
  });
}
