/**
 * Where the shared evaluation data lives. The MOTChallenge data is licensed
 * for evaluation only and is never copied into the project: tests, benchmarks
 * and the demo find it through BESTSHOT_SHARED_DIR (default ../shared beside
 * the project root).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

export const PROJECT_ROOT = findRoot();
export const SHARED_DIR = resolve(process.env.BESTSHOT_SHARED_DIR ?? join(PROJECT_ROOT, '..', 'shared'));
export const SHARED_DATA_DIR = join(SHARED_DIR, 'data');
export const SHARED_MODELS_DIR = join(SHARED_DIR, 'models');
export const TRAFFIC_CLIPS_DIR = join(SHARED_DATA_DIR, 'traffic-clips');

export function sharedPath(...parts: string[]): string {
  return join(SHARED_DATA_DIR, ...parts);
}
