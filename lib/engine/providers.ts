/**
 * The execution providers the studio knows, in the order `auto` tries them. Import-free, so that the
 * configuration (read by the web server too) can validate EXECUTION_PROVIDERS without loading ONNX Runtime.
 */
export const EXECUTION_PROVIDERS = ["cuda", "webgpu", "cpu"] as const;

export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];
