/**
 * Finding the model file and its manifest, and checking the file's digest.
 * Resolution order: explicit path → models/<file> → $BESTSHOT_SHARED_DIR/models/<file>.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { ModelError } from '../errors.js';
import { PROJECT_ROOT, SHARED_MODELS_DIR } from '../paths.js';
import { loadManifest, type ModelManifest } from './manifest.js';

export const MODELS_DIR = join(PROJECT_ROOT, 'models');
/** The default model's manifest. */
export const DEFAULT_MANIFEST_PATH = join(MODELS_DIR, 'yolox_nano.json');

/** Places a model file named `file` is looked for, in order. */
export function modelCandidates(file: string, explicit?: string): string[] {
  if (explicit !== undefined) return [resolve(explicit)];
  return [join(MODELS_DIR, file), join(SHARED_MODELS_DIR, file)];
}

/** The first existing candidate, or ModelError ERR_MODEL_NOT_FOUND listing where it looked. */
export function resolveModelPath(file: string, explicit?: string): string {
  const candidates = modelCandidates(file, explicit);
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) {
    if (explicit !== undefined) throw new ModelError(`Model file not found: ${candidates[0]}`, 'ERR_MODEL_NOT_FOUND');
    throw new ModelError(
      `Model file not found: looked in ${candidates.join(', ')} (run scripts/fetch-model.sh, or pass --model <path>)`,
      'ERR_MODEL_NOT_FOUND',
    );
  }
  return found;
}

/**
 * A config's model.path that names no file, said as `bestshot run` and `check-config` both say it:
 * the key, the path and the fix.
 */
export function missingModelMessage(path: string): string {
  return `model.path: no model file at ${path}: run scripts/fetch-model.sh or set model.path`;
}

/** The manifest that belongs to a model path: `<name>.json` beside it when present, else the default manifest. */
export function manifestPathFor(modelPath: string | undefined): string {
  if (modelPath !== undefined) {
    const sibling = join(dirname(resolve(modelPath)), `${basename(modelPath, extname(modelPath))}.json`);
    if (existsSync(sibling)) return sibling;
  }
  return DEFAULT_MANIFEST_PATH;
}

export { sha256Hex } from '../hash.js';
import { sha256Hex } from '../hash.js';
import { fileKind } from '../file-magic.js';

/**
 * Check the model bytes against the manifest's accepted digests. Returns the
 * matching digest, or null when the manifest lists none. A mismatch is
 * ModelError ERR_MODEL_CHECKSUM.
 */
export function verifyChecksum(bytes: Uint8Array, manifest: ModelManifest, path: string): string | null {
  if (manifest.sha256.length === 0) return null;
  const digest = sha256Hex(bytes);
  if (!manifest.sha256.includes(digest)) {
    throw new ModelError(
      `Model checksum mismatch for ${path}: sha256 ${digest} is not one of the accepted digests in manifest '${manifest.name}' (${manifest.sha256.join(', ')}): fetch the model again (scripts/fetch-model.sh), or give a model of your own its own manifest (model.manifest) listing its sha256`,
      'ERR_MODEL_CHECKSUM',
    );
  }
  return digest;
}

export function readModelFile(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new ModelError(`Model path ${path} is a directory, not a model file`, 'ERR_MODEL_NOT_FOUND', { cause: err });
    if (code !== 'ENOENT') throw new ModelError(`Cannot read model file ${path}: ${(err as Error).message}`, 'ERR_MODEL', { cause: err });
    throw new ModelError(`Model file not found: ${path}`, 'ERR_MODEL_NOT_FOUND', { cause: err });
  }
  const fix = 'fetch it again (scripts/fetch-model.sh) or set model.path to the ONNX model';
  if (bytes.length === 0) throw new ModelError(`Model file ${path} is empty: ${fix}`, 'ERR_MODEL');
  const kind = fileKind(bytes);
  if (kind !== undefined) throw new ModelError(`Model file ${path} is ${kind}, not an ONNX model: ${fix}`, 'ERR_MODEL');
  return bytes;
}

/**
 * The model file's own checks, without loading it: read, and its sha256
 * against the manifest beside it (or `manifestPath`) — what Detector.create
 * checks first. Returns the digest matched (null: the manifest lists none).
 */
export function checkModelFile(path: string, manifestPath?: string): string | null {
  const manifest = loadManifest(manifestPath ?? manifestPathFor(path));
  return verifyChecksum(readModelFile(path), manifest, path);
}
