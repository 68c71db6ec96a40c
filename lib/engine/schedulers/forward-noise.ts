/**
 * The forward (noising) process of flow matching (official wan/utils/fm_solvers_unipc.py, FlowUniPCMultistepScheduler.convert_model_output): x_σ = (1 − σ)·x₀ + σ·ε.
 *
 * This is how a run starts part-way (image/video-to-video, "strength"): encode the input to a clean latent x₀,
 * pick a start step k, build the sample at σ_k with `forwardNoise(x0, noise, scheduler.sigmas[k])`, and run the
 * scheduler (created with `startStep: k`) for steps k…N−1. Larger k keeps more of the input.
 */
export function forwardNoise(x0: Float32Array, noise: Float32Array, sigma: number): Float32Array {
  if (x0.length !== noise.length) {
    throw new RangeError(`clean latent has ${x0.length} values but the noise has ${noise.length}`);
  }
  if (!(sigma >= 0 && sigma <= 1)) throw new RangeError(`sigma must be in [0, 1], got ${sigma}`);
  const alpha = 1 - sigma;
  const out = new Float32Array(x0.length);
  for (let j = 0; j < out.length; j++) out[j] = alpha * x0[j] + sigma * noise[j];
  return out;
}
