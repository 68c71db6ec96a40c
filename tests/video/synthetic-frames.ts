/**
 * Test material: smooth synthetic rgb24 frames (a horizontal wave in red that travels 3 pixels per
 * frame, a vertical ramp in green, a blue level that changes with time). No hard colour edges:
 * 4:2:0 chroma subsampling would smear those by design, which is not what the tests measure.
 */
export function movingGradientFrame(width: number, height: number, index: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      rgb[p] = Math.round(128 + 100 * Math.sin((2 * Math.PI * (x + 3 * index)) / width));
      rgb[p + 1] = Math.round((y / (height - 1)) * 200) + 20;
      rgb[p + 2] = (40 + index * 9) % 256;
    }
  }
  return rgb;
}

/** Peak signal-to-noise ratio between two byte arrays of equal length, in dB. */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`psnr: lengths differ (${a.length} vs ${b.length})`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** Top-level MP4 box types in file order (size, type; size 1 = 64-bit size follows; 0 = to the end). */
export function topLevelBoxes(bytes: Buffer): string[] {
  const boxes: string[] = [];
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    let size = bytes.readUInt32BE(offset);
    const type = bytes.toString("latin1", offset + 4, offset + 8);
    if (size === 1) size = Number(bytes.readBigUInt64BE(offset + 8));
    else if (size === 0) size = bytes.length - offset;
    if (size < 8) throw new Error(`malformed box ${type} of size ${size} at ${offset}`);
    boxes.push(type);
    offset += size;
  }
  if (offset !== bytes.length) throw new Error(`boxes end at ${offset}, file has ${bytes.length} bytes`);
  return boxes;
}
