import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Canvas, encodePng, parseColor } from './raster.js';
import type { Rgb } from './raster.js';
import { countColor, decodePng, pixelHex } from './testing-png.js';

const RED: Rgb = [214, 39, 40];
const all = (c: Canvas) => ({ x0: 0, y0: 0, x1: c.width, y1: c.height });

/** The canvas, decoded back from its PNG, so every primitive test also exercises the encoder. */
function roundTrip(c: Canvas) {
  return decodePng(encodePng(c));
}

/** Bounding box of the pixels that are not white. */
function inkBox(c: Canvas): { x0: number; y0: number; x1: number; y1: number } | null {
  let box: { x0: number; y0: number; x1: number; y1: number } | null = null;
  for (let y = 0; y < c.height; y++)
    for (let x = 0; x < c.width; x++) {
      const [r, g, b] = c.pixel(x, y);
      if (r === 255 && g === 255 && b === 255) continue;
      box =
        box === null
          ? { x0: x, y0: y, x1: x + 1, y1: y + 1 }
          : {
              x0: Math.min(box.x0, x),
              y0: Math.min(box.y0, y),
              x1: Math.max(box.x1, x + 1),
              y1: Math.max(box.y1, y + 1),
            };
    }
  return box;
}

test('encodePng: signature, IHDR, one filter-0 row each, pixels back exactly; a flipped byte fails the CRC', () => {
  const c = new Canvas(7, 5);
  c.fillRect(1, 1, 3, 2, RED);
  c.fillRect(6, 4, 1, 1, [1, 2, 3]);
  const file = encodePng(c);
  assert.deepEqual([...file.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(file.toString('latin1', 12, 16), 'IHDR');
  assert.equal(file.readUInt32BE(16), 7);
  assert.equal(file.readUInt32BE(20), 5);
  assert.equal(file[24], 8, 'bit depth');
  assert.equal(file[25], 2, 'colour type RGB');
  const png = decodePng(file);
  assert.deepEqual(png.chunks, ['IHDR', 'IDAT', 'IEND']);
  assert.deepEqual(png.filters, [0, 0, 0, 0, 0]);
  assert.equal(png.channels, 3);
  assert.deepEqual(png.pixels, c.data);
  assert.equal(pixelHex(png, 0, 0), '#ffffff');
  assert.equal(pixelHex(png, 1, 1), '#d62728');
  assert.equal(pixelHex(png, 6, 4), '#010203');
  const bad = Buffer.from(file);
  bad[45] = bad[45]! ^ 1; // inside the IDAT data (signature 8 + IHDR 25 + length and type 8)
  assert.throws(() => decodePng(bad), /bad CRC in IDAT/);
});

test('parseColor: #rgb, #rrggbb and the two names the plots use', () => {
  assert.deepEqual(parseColor('#ddd'), [221, 221, 221]);
  assert.deepEqual(parseColor('#1f77b4'), [31, 119, 180]);
  assert.deepEqual(parseColor('black'), [0, 0, 0]);
  assert.deepEqual(parseColor('white'), [255, 255, 255]);
  assert.throws(() => parseColor('rebeccapurple'), /unsupported colour/);
});

test('fillRect paints the pixels whose centres are inside; clipped at the edges', () => {
  const c = new Canvas(10, 10);
  c.fillRect(2.4, 3, 3.2, 2, RED); // centres 2.5 … 5.5 → columns 2..5
  assert.deepEqual(inkBox(c), { x0: 2, y0: 3, x1: 6, y1: 5 });
  c.fillRect(-5, 8, 100, 100, RED);
  assert.equal(countColor(roundTrip(c), '#d62728', all(c)), 4 * 2 + 10 * 2);
});

test('lines: 1 px on an integer coordinate is one row, 3 px is three, diagonals are unbroken', () => {
  const c = new Canvas(40, 40);
  c.line(5, 10, 30, 10, 1, RED);
  // Columns 5..29, as the SVG's butt-capped line: pixel 30's centre is just over half a pixel
  // from the (nudged) end point.
  assert.deepEqual(inkBox(c), { x0: 5, y0: 10, x1: 30, y1: 11 });
  const d = new Canvas(40, 40);
  d.line(5, 10, 30, 10, 3, RED);
  const box = inkBox(d)!;
  assert.equal(box.y1 - box.y0, 3);
  const e = new Canvas(40, 40);
  e.polyline(
    [
      [2, 2],
      [37, 30],
      [5, 37],
    ],
    1.6,
    RED,
  );
  // Every column the first segment crosses has ink, and no row of it is empty (4-connected enough).
  for (let x = 3; x < 37; x++)
    assert.ok(countColor(roundTrip(e), '#d62728', { x0: x, y0: 0, x1: x + 1, y1: 40 }) > 0, `x=${x}`);
  assert.equal(pixelHex(roundTrip(e), 37, 30), '#d62728', 'the joint');
  assert.equal(pixelHex(roundTrip(e), 30, 5), '#ffffff', 'off the line');
});

test('text: every printable ASCII glyph has ink inside its 5×9 cell, no two alike; unknown → ?', () => {
  const seen = new Map<string, string>();
  for (let code = 33; code <= 126; code++) {
    const ch = String.fromCharCode(code);
    const c = new Canvas(12, 14);
    c.text(3, 10, ch); // cap line at y = 3, baseline under row 9
    const box = inkBox(c);
    assert.ok(box !== null, `${ch} has ink`);
    assert.ok(
      box.x0 >= 3 && box.x1 <= 8 && box.y0 >= 3 && box.y1 <= 12,
      `${ch} inside its cell: ${JSON.stringify(box)}`,
    );
    const key = Buffer.from(c.data).toString('base64');
    assert.equal(seen.get(key), undefined, `${ch} looks like ${seen.get(key)}`);
    seen.set(key, ch);
  }
  const q = new Canvas(12, 14);
  q.text(3, 10, '?');
  const u = new Canvas(12, 14);
  u.text(3, 10, 'é');
  assert.deepEqual(u.data, q.data);
});

test('text: scale, anchors and upwards rotation', () => {
  assert.equal(Canvas.textWidth('abc', 2), (3 * 6 - 1) * 2);
  const c = new Canvas(100, 40);
  c.text(50, 30, 'HH', { scale: 2, anchor: 'middle', color: RED });
  // H is 5 columns of ink each, 1 of space between: 11 × 2 px, centred on 50; 7 × 2 rows above 30.
  assert.deepEqual(inkBox(c), { x0: 39, y0: 16, x1: 61, y1: 30 });
  const e = new Canvas(100, 40);
  e.text(50, 30, 'HH', { anchor: 'end' });
  assert.deepEqual(inkBox(e), { x0: 39, y0: 23, x1: 50, y1: 30 });
  const up = new Canvas(40, 100);
  up.text(20, 50, 'HH', { scale: 2, anchor: 'middle', upwards: true });
  // Reads bottom to top: the text runs along y, the glyphs' tops point left of x = 20.
  assert.deepEqual(inkBox(up), { x0: 6, y0: 39, x1: 20, y1: 61 });
  // The H's crossbar is horizontal text's row 3; rotated, it is column 20 - 14 + 3 × 2 = 12..13.
  assert.equal(pixelHex(roundTrip(up), 12, 55), '#000000');
});
