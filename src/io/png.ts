/**
 * Abundance maps as PNG images (pngjs): one image per map and a mosaic of all maps side by side.
 *
 * Colours: viridis, perceptually uniform and readable with the common colour-vision deficiencies
 * (van der Walt & Smith, matplotlib's default colormap, CC0). The table below is 11 anchors,
 * viridis(0), viridis(0.1), …, viridis(1) from matplotlib's `_cm_listed._viridis_data`, linearly
 * interpolated in between (the error against the 256-entry table is under 2/255 per channel).
 */
import { PNG } from 'pngjs';
import { WebnmfError } from '../errors.js';
import type { ImageShape } from '../types.js';

const VIRIDIS_ANCHORS: ReadonlyArray<readonly [number, number, number]> = [
  [0x44, 0x01, 0x54],
  [0x48, 0x24, 0x75],
  [0x41, 0x44, 0x87],
  [0x35, 0x5f, 0x8d],
  [0x2a, 0x78, 0x8e],
  [0x21, 0x91, 0x8c],
  [0x22, 0xa8, 0x84],
  [0x44, 0xbf, 0x70],
  [0x7a, 0xd1, 0x51],
  [0xbd, 0xdf, 0x26],
  [0xfd, 0xe7, 0x25],
];

/** Colour of non-finite pixels (NaN, ±Inf): mid grey, outside the palette. */
const INVALID_RGB: readonly [number, number, number] = [128, 128, 128];

/** viridis(t) for t in [0, 1] (clamped) as 8-bit RGB. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS_ANCHORS.length - 1);
  const i = Math.min(VIRIDIS_ANCHORS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS_ANCHORS[i]!;
  const b = VIRIDIS_ANCHORS[i + 1]!;
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * f)) as [number, number, number];
}

export interface MapPngOptions {
  /** Integer upscaling (each value becomes scale × scale pixels). Default: so the longer side is ≥ 256 px (≤ 16). */
  scale?: number;
  /** Mosaic only: gap between maps in pixels (after scaling). Default 4. */
  gap?: number;
  /** Mosaic only: background RGB of the gaps. Default white. */
  background?: readonly [number, number, number];
  /** Mosaic only: append a vertical colour bar (low at the bottom, high at the top). Default true. */
  colorbar?: boolean;
}

/** k maps of one shape: `data` holds map i at [i * rows * cols, (i + 1) * rows * cols), row-major. */
export interface MapStack {
  readonly count: number;
  readonly shape: ImageShape;
  readonly data: ArrayLike<number>;
}

/** The maps of a k × pixels matrix (H) of image `shape`. */
export function mapsFromMatrix(H: { rows: number; cols: number; data: ArrayLike<number> }, shape: ImageShape): MapStack {
  if (shape.rows * shape.cols !== H.cols) {
    throw new WebnmfError(
      'input',
      `maps: image shape ${shape.rows}x${shape.cols} has ${shape.rows * shape.cols} pixels but H has ${H.cols} columns; pass the shape the data was recorded with.`,
    );
  }
  return { count: H.rows, shape, data: H.data };
}

function checkStack(maps: MapStack): void {
  const { rows, cols } = maps.shape;
  if (!(Number.isInteger(rows) && rows > 0 && Number.isInteger(cols) && cols > 0)) {
    throw new WebnmfError('input', `maps: image shape ${rows}x${cols} must be positive integers.`);
  }
  if (!(Number.isInteger(maps.count) && maps.count > 0)) {
    throw new WebnmfError('input', `maps: need at least one map (got ${maps.count}).`);
  }
  if (maps.data.length !== maps.count * rows * cols) {
    throw new WebnmfError(
      'input',
      `maps: ${maps.count} maps of ${rows}x${cols} need ${maps.count * rows * cols} values but got ${maps.data.length}.`,
    );
  }
}

const defaultScale = (shape: ImageShape) => Math.max(1, Math.min(16, Math.ceil(256 / Math.max(shape.rows, shape.cols))));

/** Maps one map's values to [0, 1] from its min to its max; a constant map gives 0 everywhere. */
function normalise(maps: MapStack, i: number): Float64Array {
  const n = maps.shape.rows * maps.shape.cols;
  const out = new Float64Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = maps.data[i * n + j]!;
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const span = hi - lo;
  for (let j = 0; j < n; j++) {
    const v = maps.data[i * n + j]!;
    out[j] = !Number.isFinite(v) ? NaN : span > 0 ? (v - lo) / span : 0;
  }
  return out;
}

function paintMap(png: PNG, t: Float64Array, shape: ImageShape, x0: number, y0: number, scale: number): void {
  for (let r = 0; r < shape.rows; r++) {
    for (let c = 0; c < shape.cols; c++) {
      const v = t[r * shape.cols + c]!;
      const rgb = Number.isNaN(v) ? INVALID_RGB : viridis(v);
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const o = ((y0 + r * scale + dy) * png.width + (x0 + c * scale + dx)) * 4;
          png.data[o] = rgb[0];
          png.data[o + 1] = rgb[1];
          png.data[o + 2] = rgb[2];
          png.data[o + 3] = 255;
        }
      }
    }
  }
}

function fill(png: PNG, rgb: readonly [number, number, number]): void {
  for (let o = 0; o < png.data.length; o += 4) {
    png.data[o] = rgb[0];
    png.data[o + 1] = rgb[1];
    png.data[o + 2] = rgb[2];
    png.data[o + 3] = 255;
  }
}

const encode = (png: PNG): Uint8Array => new Uint8Array(PNG.sync.write(png));

/** One PNG per map, each scaled from its own min (dark) to its max (yellow). */
export function mapPngs(maps: MapStack, options: MapPngOptions = {}): Uint8Array[] {
  checkStack(maps);
  const scale = options.scale ?? defaultScale(maps.shape);
  const out: Uint8Array[] = [];
  for (let i = 0; i < maps.count; i++) {
    const png = new PNG({ width: maps.shape.cols * scale, height: maps.shape.rows * scale });
    paintMap(png, normalise(maps, i), maps.shape, 0, 0, scale);
    out.push(encode(png));
  }
  return out;
}

/** All maps side by side (each scaled to its own min–max), separated by `gap`, with an optional colour bar. */
export function mosaicPng(maps: MapStack, options: MapPngOptions = {}): Uint8Array {
  checkStack(maps);
  const scale = options.scale ?? defaultScale(maps.shape);
  const gap = options.gap ?? 4;
  const bg = options.background ?? [255, 255, 255];
  const w = maps.shape.cols * scale;
  const h = maps.shape.rows * scale;
  const barWidth = options.colorbar === false ? 0 : Math.max(6, Math.round(w / 16));
  const width = maps.count * w + (maps.count - 1) * gap + (barWidth > 0 ? gap + barWidth : 0);
  const png = new PNG({ width, height: h });
  fill(png, bg);
  for (let i = 0; i < maps.count; i++) paintMap(png, normalise(maps, i), maps.shape, i * (w + gap), 0, scale);
  if (barWidth > 0) {
    const x0 = width - barWidth;
    for (let y = 0; y < h; y++) {
      const rgb = viridis(h > 1 ? 1 - y / (h - 1) : 1);
      for (let x = x0; x < width; x++) {
        const o = (y * width + x) * 4;
        png.data[o] = rgb[0];
        png.data[o + 1] = rgb[1];
        png.data[o + 2] = rgb[2];
        png.data[o + 3] = 255;
      }
    }
  }
  return encode(png);
}
