/**
 * Opens a weight file of either format the converter reads: safetensors, or a PyTorch `torch.save` zip
 * (`.pth` / `.pt`, as Wan-AI ships its VAE, umT5 and CLIP). Both open as a TensorFile, so the weight store
 * and every converter read them the same way.
 */
import { open } from "node:fs/promises";
import { openPth } from "./pth.ts";
import { SafetensorsFile } from "./safetensors.ts";
import type { TensorFile } from "./tensor-file.ts";

/** File name endings of weight files, for finding them in folders. */
export const WEIGHT_FILE_EXTENSIONS = [".safetensors", ".pth", ".pt"];

export function isWeightFile(name: string): boolean {
  return WEIGHT_FILE_EXTENSIONS.some((ext) => name.endsWith(ext));
}

/** PyTorch files by their name, or by the zip signature whatever their name (safetensors starts with a length). */
async function isPytorchFile(path: string): Promise<boolean> {
  if (path.endsWith(".pth") || path.endsWith(".pt")) return true;
  const handle = await open(path, "r").catch(() => undefined);
  if (!handle) return false; // the safetensors reader names the file and why it cannot be opened
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    return bytesRead === 4 && magic.toString("latin1") === "PK\x03\x04";
  } finally {
    await handle.close();
  }
}

export async function openTensorFile(path: string): Promise<TensorFile> {
  return (await isPytorchFile(path)) ? openPth(path) : SafetensorsFile.open(path);
}
