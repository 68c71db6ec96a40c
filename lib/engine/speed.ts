/**
 * Which step cache a run uses: the studio's speed presets, and the settings the engine's runner takes.
 */
import type { Speed } from "../schemas/generation.ts";
import { MagCache, type MagCacheSettings } from "./magcache.ts";
import type { StepCache } from "./step-cache.ts";
import { TeaCache, type TeaCacheSettings } from "./teacache.ts";

export type StepCacheSettings = ({ rule: "teacache" } & TeaCacheSettings) | ({ rule: "magcache" } & MagCacheSettings);

/**
 * The studio's speed presets: TeaCache4Wan2.1's published thresholds for the 1.3B model (its README's
 * "use_ret_steps" table: 0.05 "slow" and 0.08 "fast" without retention steps, the variant it recommends for
 * t2v-1.3B). "exact" runs every pass.
 */
export const SPEED_PRESETS: Record<Speed, StepCacheSettings | null> = {
  exact: null,
  fast: { rule: "teacache", mode: "e", threshold: 0.05 },
  faster: { rule: "teacache", mode: "e", threshold: 0.08 },
};

export function createStepCache(settings: StepCacheSettings, totalSteps: number): StepCache {
  return settings.rule === "teacache" ? new TeaCache(settings, totalSteps) : new MagCache(settings, totalSteps);
}
