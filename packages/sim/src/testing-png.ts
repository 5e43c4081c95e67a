/**
 * A minimal PNG reader for the tests (not exported from the package index): it checks what the
 * encoder in raster.ts must get right and decodes 8-bit RGB or RGBA, not interlaced, any of the
 * five row filters, independently of the encoder (its own CRC-32, `inflateSync`, unfiltering).
 */
import { inflateSync } from 'node:zlib';

export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  /** 3 (colour type 2) or 4 (colour type 6). */
  readonly channels: number;
  /** Row-major samples, `channels` a pixel, filters undone. */
  readonly pixels: Uint8Array;
  /** The chunk types in file order. */
  readonly chunks: readonly string[];
  /** The filter type byte of each row. */
  readonly filters: readonly number[];
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Bitwise CRC-32 (no table: a second, plainer implementation than the encoder's). */
function crc(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Decodes `file`, throwing on a bad signature, a bad CRC, a missing IHDR/IEND or an unsupported format. */
export function decodePng(file: Uint8Array): DecodedPng {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  SIGNATURE.forEach((b, i) => {
    if (buf[i] !== b) throw new Error(`bad PNG signature at byte ${i}`);
  });
  const chunks: string[] = [];
  const idat: Buffer[] = [];
  let ihdr: Buffer | undefined;
  let at = 8;
  while (at < buf.length) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + len);
    const want = buf.readUInt32BE(at + 8 + len);
    const got = crc(buf.subarray(at + 4, at + 8 + len));
    if (got !== want) throw new Error(`bad CRC in ${type}: ${got.toString(16)} ≠ ${want.toString(16)}`);
    chunks.push(type);
    if (type === 'IHDR') ihdr = data;
    else if (type === 'IDAT') idat.push(data);
    at += 12 + len;
    if (type === 'IEND') break;
  }
  if (chunks[0] !== 'IHDR' || chunks[chunks.length - 1] !== 'IEND' || at !== buf.length || ihdr === undefined)
    throw new Error(`bad chunk sequence ${chunks.join(',')}`);
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const [depth, colorType, compression, filterMethod, interlace] = [
    ihdr[8],
    ihdr[9],
    ihdr[10],
    ihdr[11],
    ihdr[12],
  ];
  if (
    depth !== 8 ||
    (colorType !== 2 && colorType !== 6) ||
    compression !== 0 ||
    filterMethod !== 0 ||
    interlace !== 0
  )
    throw new Error(`unsupported IHDR depth ${depth} colour ${colorType} interlace ${interlace}`);
  const channels = colorType === 2 ? 3 : 4;
  const stride = width * channels;
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length !== (stride + 1) * height)
    throw new Error(`IDAT inflates to ${raw.length} bytes, want ${(stride + 1) * height}`);
  const pixels = new Uint8Array(stride * height);
  const filters: number[] = [];
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    filters.push(f);
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? pixels[y * stride + i - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i]! : 0;
      const c = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels]! : 0;
      let pred: number;
      if (f === 0) pred = 0;
      else if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new Error(`bad filter type ${f} on row ${y}`);
      pixels[y * stride + i] = (x + pred) & 0xff;
    }
  }
  return { width, height, channels, pixels, chunks, filters };
}

/** The pixel at (x, y) as `#rrggbb` (alpha ignored). */
export function pixelHex(png: DecodedPng, x: number, y: number): string {
  const i = (y * png.width + x) * png.channels;
  return '#' + [0, 1, 2].map((k) => png.pixels[i + k]!.toString(16).padStart(2, '0')).join('');
}

/** How many pixels of the region [x0, x1) × [y0, y1) have colour `hex` (or, with `not`, any other). */
export function countColor(
  png: DecodedPng,
  hex: string,
  region: { x0: number; y0: number; x1: number; y1: number },
  not = false,
): number {
  let n = 0;
  for (let y = region.y0; y < region.y1; y++)
    for (let x = region.x0; x < region.x1; x++) if ((pixelHex(png, x, y) === hex) !== not) n++;
  return n;
}
