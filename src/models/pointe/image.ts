/**
 * The view an image-conditioned Point-E model reads (pointe.ts, `cond: 'image' | 'image-pooled'`):
 * a PNG → RGB composited over white (the renders' background, as Point-E's conditioning views) →
 * resampled to imageSize² by area averaging → channels in [−1, 1], row-major (S, S, 3).
 *
 *   const view = await readViewFile('view.png');
 *   const x = viewChannels(view, 32); // Float32Array of 32·32·3
 */
import { readFile } from 'node:fs/promises';
import { TonyError } from '../../errors.ts';
import { decodePng, type Image } from '../../shape/render.ts';

/** The eight bytes every PNG starts with. */
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Decode PNG bytes; anything else is a usage error naming `name`. */
export function decodeView(bytes: Uint8Array, name: string): Image {
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b))
    throw new TonyError(
      'usage',
      `${name} is not a PNG image`,
      'pass a rendered view as .png, e.g. one from tony shapes generate --views 1 (renders/<id>_0.png) or tony shapes render',
    );
  try {
    return decodePng(bytes);
  } catch (err) {
    throw new TonyError('usage', `${name}: a damaged PNG (${(err as Error).message})`, 'save the view again as PNG', { cause: err });
  }
}

/** Read a view from a file (a clear error if it is missing or not a PNG). */
export async function readViewFile(path: string): Promise<Image> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new TonyError('usage', `cannot read the image ${path} (${(err as Error).message})`, 'pass an existing .png file', { cause: err });
  }
  return decodeView(bytes, path);
}

/**
 * An image → S × S × 3 channels in [−1, 1]: alpha composited over white, then each output pixel the
 * area-weighted mean of the input pixels it covers (an exact box filter for any ratio, so a 64-pixel
 * render halves to 32 by plain 2 × 2 means). A non-square image is stretched to the square.
 */
export function viewChannels(img: Image, S: number): Float32Array {
  const { width: W, height: H } = img;
  const out = new Float32Array(S * S * 3);
  // covered length of input cell [i, i + 1) by output cell [o·n/S, (o + 1)·n/S), in input units
  const overlap = (n: number) => {
    const w: { i: number; w: number }[][] = [];
    for (let o = 0; o < S; o++) {
      const a = (o * n) / S;
      const b = ((o + 1) * n) / S;
      const cells: { i: number; w: number }[] = [];
      for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) cells.push({ i, w: Math.min(b, i + 1) - Math.max(a, i) });
      w.push(cells);
    }
    return w;
  };
  const wx = overlap(W);
  const wy = overlap(H);
  for (let oy = 0; oy < S; oy++) {
    for (let ox = 0; ox < S; ox++) {
      const acc = [0, 0, 0];
      let total = 0;
      for (const { i: y, w: fy } of wy[oy]!) {
        for (const { i: x, w: fx } of wx[ox]!) {
          const p = y * W + x;
          const a = img.alpha[p]! / 255;
          const w = fx * fy;
          for (let k = 0; k < 3; k++) acc[k]! += w * ((a * img.rgb[3 * p + k]!) / 255 + (1 - a));
          total += w;
        }
      }
      for (let k = 0; k < 3; k++) out[3 * (oy * S + ox) + k] = (2 * acc[k]!) / total - 1;
    }
  }
  return out;
}
