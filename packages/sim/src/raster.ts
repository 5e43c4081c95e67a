/**
 * A tiny raster back end for the plots (no dependency, no native code): an RGB canvas with
 * aliased but clean primitives (filled rectangles, lines and polylines of any width, text in a
 * built-in 5×7 bitmap font scaled by an integer factor, horizontal or rotated to read upwards) and
 * a PNG encoder (colour type 2, 8 bits, filter 0 on every row, `node:zlib` deflate and CRC-32).
 *
 * Coordinates are in pixels with (0, 0) the top-left corner of the top-left pixel; a pixel is
 * painted when its centre (x + 0.5, y + 0.5) falls inside the shape.
 */
import { crc32, deflateSync } from 'node:zlib';

export type Rgb = readonly [number, number, number];

const NAMED: Record<string, Rgb> = { black: [0, 0, 0], white: [255, 255, 255] };

/** `#rgb`, `#rrggbb`, `black` or `white` (the colours the plots use) to RGB. */
export function parseColor(c: string): Rgb {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const m3 = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(c);
  if (m3 !== null)
    return [parseInt(m3[1]! + m3[1]!, 16), parseInt(m3[2]! + m3[2]!, 16), parseInt(m3[3]! + m3[3]!, 16)];
  const m6 = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  if (m6 !== null) return [parseInt(m6[1]!, 16), parseInt(m6[2]!, 16), parseInt(m6[3]!, 16)];
  throw new Error(`unsupported colour "${c}"`);
}

/**
 * The font: printable ASCII 32–126, 5 columns wide, 7 rows from the cap line down to the
 * baseline, plus up to 2 descender rows (g j p q y , _). One string per glyph, rows separated by
 * spaces, `#` = ink. A character not in the table is drawn as `?`.
 */
const GLYPHS: Record<string, string> = {
  ' ': '',
  '!': '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..',
  '"': '.#.#. .#.#. .#.#.',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  $: '..#.. .#### #.#.. .###. ..#.# ####. ..#..',
  '%': '##... ##..# ...#. ..#.. .#... #..## ...##',
  '&': '.##.. #..#. #.#.. .#... #.#.# #..#. .##.#',
  "'": '..#.. ..#.. .#...',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  '*': '..... ..#.. #.#.# .###. #.#.# ..#.. .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  ',': '..... ..... ..... ..... ..... .##.. ..#.. .#...',
  '-': '..... ..... ..... .###. ..... ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  '/': '..... ....# ...#. ..#.. .#... #.... .....',
  '0': '.###. #...# #..## #.#.# ##..# #...# .###.',
  '1': '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  '2': '.###. #...# ....# ...#. ..#.. .#... #####',
  '3': '##### ...#. ..#.. ...#. ....# #...# .###.',
  '4': '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  '5': '##### #.... ####. ....# ....# #...# .###.',
  '6': '..##. .#... #.... ####. #...# #...# .###.',
  '7': '##### ....# ...#. ..#.. .#... .#... .#...',
  '8': '.###. #...# #...# .###. #...# #...# .###.',
  '9': '.###. #...# #...# .#### ....# ...#. .##..',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  ';': '..... .##.. .##.. ..... .##.. ..#.. .#...',
  '<': '...#. ..#.. .#... #.... .#... ..#.. ...#.',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '>': '.#... ..#.. ...#. ....# ...#. ..#.. .#...',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  '@': '.###. #...# ....# .##.# #.#.# #.#.# .###.',
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '###.. #..#. #...# #...# #...# #..#. ###..',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  '[': '.###. .#... .#... .#... .#... .#... .###.',
  '\\': '..... #.... .#... ..#.. ...#. ....# .....',
  ']': '.###. ...#. ...#. ...#. ...#. ...#. .###.',
  '^': '..#.. .#.#. #...#',
  _: '..... ..... ..... ..... ..... ..... ..... #####',
  '`': '.#... ..#.. ...#.',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... ..... .#### #...# #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# #...# #...# ####. #.... #....',
  q: '..... ..... .#### #...# #...# #...# .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
  '{': '...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.',
  '|': '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  '}': '.#... ..#.. ..#.. ...#. ..#.. ..#.. .#...',
  '~': '..... ..... .#... #.#.# ...#. ..... .....',
};

/** Glyph cell: 5 columns of ink plus 1 of spacing; 7 rows above the baseline. */
export const GLYPH_ADVANCE = 6;
export const GLYPH_ASCENT = 7;

/** Each glyph as the (column, row) of its ink; row 0 is the cap line, row 7 the first below the baseline. */
const INK = new Map<string, readonly (readonly [number, number])[]>(
  Object.entries(GLYPHS).map(([ch, rows]) => [
    ch,
    rows
      .split(' ')
      .filter((r) => r.length > 0)
      .flatMap((r, y) => [...r].flatMap((b, x) => (b === '#' ? [[x, y] as const] : []))),
  ]),
);

export type TextAnchor = 'start' | 'middle' | 'end';

export interface TextStyle {
  /** Integer magnification of the 5×7 font (1 = 7 px capitals). */
  readonly scale?: number;
  readonly color?: Rgb;
  readonly anchor?: TextAnchor;
  /** Rotated 90° counter-clockwise (reads bottom to top), as an SVG `rotate(-90)`. */
  readonly upwards?: boolean;
}

export class Canvas {
  /** Row-major RGB, 3 bytes a pixel. */
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
      throw new Error(`bad canvas size ${width}×${height}`);
    this.data = new Uint8Array(width * height * 3);
    this.fillPixels(0, 0, width, height, background);
  }

  pixel(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 3;
    return [this.data[i]!, this.data[i + 1]!, this.data[i + 2]!];
  }

  /** Paints whole pixels [x0, x1) × [y0, y1), clipped to the canvas. */
  private fillPixels(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    const xa = Math.max(0, x0);
    const xb = Math.min(this.width, x1);
    const ya = Math.max(0, y0);
    const yb = Math.min(this.height, y1);
    if (xa >= xb || ya >= yb) return;
    // Paint the first row's span, then copy it down.
    const first = (ya * this.width + xa) * 3;
    const end = (ya * this.width + xb) * 3;
    for (let i = first; i < end; i += 3) {
      this.data[i] = c[0];
      this.data[i + 1] = c[1];
      this.data[i + 2] = c[2];
    }
    for (let y = ya + 1; y < yb; y++) this.data.copyWithin((y * this.width + xa) * 3, first, end);
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    // Pixels whose centre lies in [x, x + w) × [y, y + h).
    this.fillPixels(
      Math.ceil(x - 0.5),
      Math.ceil(y - 0.5),
      Math.ceil(x + w - 0.5),
      Math.ceil(y + h - 0.5),
      c,
    );
  }

  /**
   * A segment of the given width with round caps: the pixels whose centre is within width / 2 of
   * it. The segment is nudged by a hair so that a 1-px line on an integer coordinate is 1 px wide,
   * not 2 (the centres on either side would otherwise tie).
   */
  line(x1: number, y1: number, x2: number, y2: number, width: number, c: Rgb): void {
    const r = Math.max(0.5, width / 2);
    const ax = x1 + 1e-3;
    const ay = y1 + 1e-3;
    const dx = x2 - x1;
    const dy = y2 - y1;
    const len2 = dx * dx + dy * dy;
    const xa = Math.max(0, Math.floor(Math.min(x1, x2) - r));
    const xb = Math.min(this.width - 1, Math.ceil(Math.max(x1, x2) + r));
    const ya = Math.max(0, Math.floor(Math.min(y1, y2) - r));
    const yb = Math.min(this.height - 1, Math.ceil(Math.max(y1, y2) + r));
    const r2 = r * r;
    for (let py = ya; py <= yb; py++)
      for (let px = xa; px <= xb; px++) {
        const qx = px + 0.5 - ax;
        const qy = py + 0.5 - ay;
        const t = len2 === 0 ? 0 : Math.min(1, Math.max(0, (qx * dx + qy * dy) / len2));
        const ex = qx - t * dx;
        const ey = qy - t * dy;
        if (ex * ex + ey * ey <= r2) {
          const i = (py * this.width + px) * 3;
          this.data[i] = c[0];
          this.data[i + 1] = c[1];
          this.data[i + 2] = c[2];
        }
      }
  }

  /** Consecutive segments; the round caps make round joins. */
  polyline(points: readonly (readonly [number, number])[], width: number, c: Rgb): void {
    for (let k = 1; k < points.length; k++) {
      const [x1, y1] = points[k - 1]!;
      const [x2, y2] = points[k]!;
      this.line(x1, y1, x2, y2, width, c);
    }
    if (points.length === 1) this.line(points[0]![0], points[0]![1], points[0]![0], points[0]![1], width, c);
  }

  /** Width in pixels of `s` at `scale` (the advance, less the trailing column of spacing). */
  static textWidth(s: string, scale = 1): number {
    return s.length === 0 ? 0 : (s.length * GLYPH_ADVANCE - 1) * scale;
  }

  /** `s` with its baseline through (x, y), anchored there at its start, middle or end. */
  text(x: number, y: number, s: string, style: TextStyle = {}): void {
    const k = Math.max(1, Math.round(style.scale ?? 1));
    const c = style.color ?? [0, 0, 0];
    const w = Canvas.textWidth(s, k);
    const back = style.anchor === 'middle' ? w / 2 : style.anchor === 'end' ? w : 0;
    // Text direction u and the glyph's downward direction v.
    const [ux, uy, vx, vy] = style.upwards === true ? [0, -1, 1, 0] : [1, 0, 0, 1];
    const ox = Math.round(x - ux * back);
    const oy = Math.round(y - uy * back);
    [...s].forEach((ch, n) => {
      for (const [col, row] of INK.get(ch) ?? INK.get('?')!) {
        const a = n * GLYPH_ADVANCE + col;
        const b = row - GLYPH_ASCENT;
        // The k×k block of this ink dot, between two opposite corners.
        const x0 = ox + (ux * a + vx * b) * k;
        const y0 = oy + (uy * a + vy * b) * k;
        const x1 = x0 + (ux + vx) * k;
        const y1 = y0 + (uy + vy) * k;
        this.fillPixels(Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1), c);
      }
    });
  }
}

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length); // zlib's CRC-32, as PNG uses it
  return out;
}

/** The canvas as a PNG file: 8-bit RGB (colour type 2), not interlaced, filter 0 on every row. */
export function encodePng(canvas: Canvas): Buffer {
  const { width, height, data } = canvas;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter type None
    raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), // level 6: level 9 is ~10× slower here for ±10 % size
    chunk('IEND', new Uint8Array(0)),
  ]);
}
