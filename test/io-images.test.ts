import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { mapPngs, mapsFromMatrix, mosaicPng, viridis } from '../src/io/png.js';
import { niceTicks, OKABE_ITO, spectraSvg } from '../src/io/plot.js';
import { WebnmfError } from '../src/errors.js';

const decode = (b: Uint8Array) => PNG.sync.read(Buffer.from(b));
const px = (png: PNG, x: number, y: number) => Array.from(png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 4));

/** k maps of rows × cols: map i is a ramp along the columns (i = 0), rows (i = 1), or constant. */
function stack(k: number, rows: number, cols: number) {
  const data = new Float64Array(k * rows * cols);
  for (let i = 0; i < k; i++)
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) data[i * rows * cols + r * cols + c] = i === 0 ? c : i === 1 ? 10 * r : 3;
  return { rows: k, cols: rows * cols, data };
}

describe('viridis', () => {
  it('runs from dark purple to yellow, with luminance increasing', () => {
    expect(viridis(0)).toEqual([0x44, 0x01, 0x54]);
    expect(viridis(1)).toEqual([0xfd, 0xe7, 0x25]);
    expect(viridis(0.5)).toEqual([0x21, 0x91, 0x8c]);
    const lum = (c: number[]) => 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
    for (let t = 0; t < 1; t += 0.01) expect(lum(viridis(t + 0.01))).toBeGreaterThan(lum(viridis(t)));
    expect(viridis(-3)).toEqual(viridis(0));
    expect(viridis(NaN)).toEqual(viridis(0));
  });
});

describe('PNG maps', () => {
  const maps = mapsFromMatrix(stack(3, 5, 8), { rows: 5, cols: 8 });

  it('one PNG per map, decodable, scaled from min (dark) to max (yellow)', () => {
    const pngs = mapPngs(maps, { scale: 2 });
    expect(pngs.length).toBe(3);
    const a = decode(pngs[0]!);
    expect([a.width, a.height]).toEqual([16, 10]);
    expect(px(a, 0, 0)).toEqual([...viridis(0), 255]); // column 0 = min
    expect(px(a, 15, 9)).toEqual([...viridis(1), 255]); // column 7 = max
    const b = decode(pngs[1]!);
    expect(px(b, 0, 0)).toEqual([...viridis(0), 255]);
    expect(px(b, 0, 9)).toEqual([...viridis(1), 255]);
    // Non-trivial: many distinct colours.
    const colours = new Set<string>();
    for (let x = 0; x < a.width; x++) colours.add(px(a, x, 0).join());
    expect(colours.size).toBe(8);
  });

  it('a constant map gives one valid colour, no NaN garbage', () => {
    const c = decode(mapPngs(maps, { scale: 1 })[2]!);
    const colours = new Set<string>();
    for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) colours.add(px(c, x, y).join());
    expect([...colours]).toEqual([[...viridis(0), 255].join()]);
  });

  it('non-finite values are grey and do not spoil the scaling', () => {
    const data = new Float64Array([0, NaN, 2, Infinity]);
    const png = decode(mapPngs({ count: 1, shape: { rows: 2, cols: 2 }, data }, { scale: 1 })[0]!);
    expect(px(png, 0, 0)).toEqual([...viridis(0), 255]);
    expect(px(png, 1, 0)).toEqual([128, 128, 128, 255]);
    expect(px(png, 0, 1)).toEqual([...viridis(1), 255]);
    expect(px(png, 1, 1)).toEqual([128, 128, 128, 255]);
  });

  it('mosaic: maps side by side with gaps and a colour bar', () => {
    const m = decode(mosaicPng(maps, { scale: 2, gap: 3 }));
    const bar = Math.max(6, Math.round(16 / 16));
    expect(m.width).toBe(3 * 16 + 2 * 3 + 3 + bar);
    expect(m.height).toBe(10);
    expect(px(m, 16, 0)).toEqual([255, 255, 255, 255]); // gap
    expect(px(m, 19, 0)).toEqual([...viridis(0), 255]); // map 1, row 0
    expect(px(m, m.width - 1, 0)).toEqual([...viridis(1), 255]); // colour bar top = high
    expect(px(m, m.width - 1, 9)).toEqual([...viridis(0), 255]);
    const noBar = decode(mosaicPng(maps, { scale: 1, gap: 2, colorbar: false }));
    expect(noBar.width).toBe(3 * 8 + 2 * 2);
  });

  it('default scale makes small maps at least 256 px wide', () => {
    const png = decode(mapPngs(mapsFromMatrix(stack(1, 16, 32), { rows: 16, cols: 32 }))[0]!);
    expect(png.width).toBe(256);
    expect(png.height).toBe(128);
  });

  it('a shape that does not match the pixels is an input error naming both', () => {
    let err: unknown;
    try {
      mapsFromMatrix(stack(2, 4, 4), { rows: 3, cols: 5 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WebnmfError);
    expect((err as WebnmfError).message).toMatch(/3x5 has 15 pixels but H has 16 columns/);
    expect(() => mapPngs({ count: 2, shape: { rows: 2, cols: 2 }, data: new Float64Array(7) })).toThrow(/need 8 values but got 7/);
  });
});

describe('SVG spectra plot', () => {
  const n = 50;
  const curve = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
  const curves = [
    { label: 'phase 0', values: curve((i) => Math.exp(-((i - 10) ** 2) / 20)) },
    { label: 'phase 1', values: curve((i) => 0.5 * Math.exp(-((i - 30) ** 2) / 10)) },
    { label: 'true <1> & "x"', values: curve((i) => (i === 7 ? NaN : 0.4)), dashed: true, colorIndex: 1 },
  ];

  it('has one <path> per curve, a legend entry each, labels and ticks', () => {
    const svg = spectraSvg(curves, { title: 'Spectra', energy: { offset: 0.2, scale: 0.01, units: 'keV' } });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<path /g)?.length).toBe(3);
    expect(svg).toContain('Energy (keV)');
    expect(svg).toContain('Intensity');
    expect(svg).toContain('true &lt;1&gt; &amp; &quot;x&quot;');
    expect(svg).not.toContain('NaN');
    expect(svg).toContain(`stroke="${OKABE_ITO[0]}"`);
    expect(svg).toContain('stroke-dasharray');
    // The NaN breaks the third line into two pieces.
    const third = svg.split('<path ')[3]!;
    expect(third.match(/M/g)?.length).toBe(2);
    // Tick labels on the energy axis.
    expect(svg).toMatch(/>0\.4</);
  });

  it('is well-formed: tags balance', () => {
    const svg = spectraSvg(curves);
    const stackTags: string[] = [];
    for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
      if (m[3] === '/') continue;
      if (m[1] === '/') expect(stackTags.pop()).toBe(m[2]);
      else stackTags.push(m[2]!);
    }
    expect(stackTags).toEqual([]);
    expect(svg).toContain('Channel');
  });

  it('copes with flat, empty and all-NaN data without NaN coordinates', () => {
    for (const cs of [[{ label: 'flat', values: new Float64Array(10) }], [], [{ label: 'nan', values: [NaN, NaN] }]]) {
      const svg = spectraSvg(cs);
      expect(svg).not.toMatch(/NaN|Infinity/);
      expect(svg.match(/<path /g)?.length ?? 0).toBe(cs.length);
    }
  });

  it('niceTicks', () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.2, 0.69).map((t) => +t.toFixed(10))).toEqual([0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });
});
