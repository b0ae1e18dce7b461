/**
 * Execution providers (D1): which ones exist, whether a GPU provider's
 * library is installed before ONNX Runtime is asked, the session option for
 * each, and the TensorRT switches that reach the provider through its
 * environment variables.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as ort from 'onnxruntime-node';

export type ExecutionProvider = 'tensorrt' | 'cuda' | 'cpu';
/** In the order they are tried by default: fastest first. */
export const PROVIDERS: readonly ExecutionProvider[] = ['tensorrt', 'cuda', 'cpu'];

export interface TensorRtOptions {
  /** GPU index. Default 0. */
  deviceId?: number;
  /**
   * Directory for serialized TensorRT engines. Default: none (the engine is
   * rebuilt at every start — minutes on a Jetson). Set it on a device: the
   * first start builds, later starts load in about a second.
   */
  engineCachePath?: string;
  /**
   * Build FP16 engines. Default true (unless ORT_TENSORRT_FP16_ENABLE is already
   * set): about 2× faster on Jetson at a small accuracy cost.
   */
  fp16?: boolean;
}

/** onnxruntime-node's native folder: ONNX Runtime loads provider libraries from beside libonnxruntime. */
function ortNativeDir(): string | null {
  try {
    const index = createRequire(import.meta.url).resolve('onnxruntime-node');
    return join(dirname(index), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
}

/**
 * Why a GPU provider cannot load, checked before asking ONNX Runtime (which
 * would print a native error for each missing library): null when its
 * library is present (or the folder is unknown: then ONNX Runtime decides).
 */
export function missingProviderLibrary(p: ExecutionProvider): string | null {
  if (p === 'cpu') return null;
  const dir = ortNativeDir();
  if (dir === null || !existsSync(join(dir, process.platform === 'win32' ? 'onnxruntime.dll' : 'libonnxruntime.so.1'))) return null;
  const ext = process.platform === 'win32' ? 'dll' : 'so';
  const prefix = process.platform === 'win32' ? '' : 'lib';
  for (const lib of [`${prefix}onnxruntime_providers_shared.${ext}`, `${prefix}onnxruntime_providers_${p}.${ext}`]) {
    if (!existsSync(join(dir, lib))) return `${lib} not found in ${dir}`;
  }
  return null;
}

/** The session's provider entry. */
export function providerOption(p: ExecutionProvider, o: { cudaDeviceId?: number; tensorrt?: TensorRtOptions }): ort.InferenceSession.ExecutionProviderConfig {
  if (p === 'cpu') return 'cpu';
  if (p === 'cuda') return { name: 'cuda', deviceId: o.cudaDeviceId ?? 0 };
  return { name: 'tensorrt', deviceId: o.tensorrt?.deviceId ?? 0 };
}

/**
 * onnxruntime-node passes only `deviceId` to TensorRT; the engine cache and
 * FP16 switches reach the provider through its documented environment
 * variables, which it reads when the session is created.
 */
export function applyTensorRtEnv(t: TensorRtOptions | undefined): void {
  // An explicit option wins; otherwise a value already in the environment is kept.
  if (t?.fp16 !== undefined) process.env.ORT_TENSORRT_FP16_ENABLE = t.fp16 ? '1' : '0';
  else process.env.ORT_TENSORRT_FP16_ENABLE ??= '1';
  if (t?.engineCachePath !== undefined) {
    process.env.ORT_TENSORRT_ENGINE_CACHE_ENABLE = '1';
    process.env.ORT_TENSORRT_CACHE_PATH = t.engineCachePath;
  }
}
