/**
 * From the VAE's output tensor to the bytes the encoder takes: a [3, T, H, W] float video in [-1, 1]
 * (channel-major, docs/model-notes.md#latent-normalisation-and-the-frame-rule) → one rgb24 frame (H rows of W pixels of R, G, B bytes).
 *
 * The conversion follows the official Wan code exactly (WAN `wan/utils/utils.py` `cache_video`, which
 * `generate.py` uses to save every video):
 *
 *     tensor = tensor.clamp(-1, 1)
 *     frame  = torchvision.utils.make_grid(u, normalize=True, value_range=(-1, 1))
 *              # normalize: clamp to [-1, 1], then sub_(-1).div_(2)  → (x + 1) / 2
 *     tensor = (tensor * 255).type(torch.uint8)
 *
 * all in float32, and the final cast TRUNCATES (C cast toward zero), it does not round: 0.0 → 127.5 →
 * 127 (rounding would give 128), and a pixel reaches 255 only at exactly 1.0. We reproduce the float32
 * rounding of each step with Math.fround: for + and × of float32 values, computing in double and
 * rounding once to float32 gives the correctly rounded float32 result (53 ≥ 2·24 + 2 bits), so the
 * bytes match PyTorch's bit for bit. A single video makes a 1×1 grid, which `make_grid` returns
 * unchanged (no padding).
 *
 * NaN (a broken model output) has no defined uint8 value in PyTorch; we map it to 0 so a bad frame
 * is visibly black instead of random.
 */

/** Sizes of a channel-major video tensor [3, frames, height, width]. */
export type VideoDims = { frames: number; height: number; width: number };

/** One float32 sample in [-1, 1] → its official uint8 value. */
export function pixelToByte(x: number): number {
  if (!(x >= -1)) return 0; // below -1, or NaN
  if (x >= 1) return 255;
  const unit = Math.fround(Math.fround(Math.fround(x) + 1) / 2);
  return Math.trunc(Math.fround(unit * 255));
}

function checkDims(video: Float32Array, dims: VideoDims, what: string): void {
  const { frames, height, width } = dims;
  for (const [name, v] of Object.entries({ frames, height, width })) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${what}: ${name} must be a positive integer, got ${v}`);
  }
  const expected = 3 * frames * height * width;
  if (video.length !== expected) {
    throw new RangeError(
      `${what}: a [3, ${frames}, ${height}, ${width}] tensor has ${expected} values, got ${video.length}`,
    );
  }
}

/**
 * Frame `frameIndex` of a [3, T, H, W] video as rgb24. Pass `out` (H·W·3 bytes) to reuse a buffer.
 */
export function videoFrameToRgb(video: Float32Array, dims: VideoDims, frameIndex: number, out?: Uint8Array): Uint8Array {
  checkDims(video, dims, "videoFrameToRgb");
  const { frames, height, width } = dims;
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= frames) {
    throw new RangeError(`videoFrameToRgb: frame ${frameIndex} is outside 0…${frames - 1}`);
  }
  const plane = height * width;
  const rgb = out ?? new Uint8Array(plane * 3);
  if (rgb.length !== plane * 3) throw new RangeError(`videoFrameToRgb: out must hold ${plane * 3} bytes, has ${rgb.length}`);
  for (let c = 0; c < 3; c++) {
    // Channel c of frame t starts at ((c·T + t)·H·W); within it pixels are row-major, like rgb24.
    const base = (c * frames + frameIndex) * plane;
    for (let p = 0; p < plane; p++) rgb[p * 3 + c] = pixelToByte(video[base + p]);
  }
  return rgb;
}

/**
 * Every frame of one decoded chunk [3, t, H, W] (the VAE decodes 1 frame for the first latent, then
 * 4 per latent: official wan/modules/vae.py, WanVAE_.encode and WanVAE_.decode), in order, ready for `Mp4Encoder.writeFrame`. A chunk is just a
 * short video, so this is the same conversion frame by frame.
 */
export function videoChunkToRgbFrames(chunk: Float32Array, dims: VideoDims): Uint8Array[] {
  checkDims(chunk, dims, "videoChunkToRgbFrames");
  return Array.from({ length: dims.frames }, (_, t) => videoFrameToRgb(chunk, dims, t));
}
