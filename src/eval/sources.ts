/** What `npm run eval -- all` covers: every clip and MOTChallenge sequence under the shared data, plus the simulated scene. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

export interface EvalSource {
  name: string;
  kind: 'clip' | 'mot' | 'sim';
  path: string;
}

const VIDEO = /\.(mp4|avi|mkv|mov|webm)$/i;

function isMotDir(dir: string): boolean {
  return existsSync(join(dir, 'det', 'det.txt')) || existsSync(join(dir, 'gt', 'gt.txt'));
}

/** Clips (any video file up to two levels down) and MOT sequences (folders with det/det.txt or gt/gt.txt), sorted by kind then name. */
export function discoverSources(dataDir: string): EvalSource[] {
  const out: EvalSource[] = [];
  const visit = (dir: string, depth: number): void => {
    if (isMotDir(dir)) {
      out.push({ name: basename(dir), kind: 'mot', path: dir });
      return;
    }
    if (depth > 2) return;
    for (const e of readdirSync(dir).sort()) {
      const p = join(dir, e);
      const st = statSync(p);
      if (st.isDirectory()) visit(p, depth + 1);
      else if (VIDEO.test(e)) out.push({ name: e.replace(/\.[^.]+$/, ''), kind: 'clip', path: p });
    }
  };
  if (existsSync(dataDir)) visit(dataDir, 0);
  out.push({ name: 'sim-four-lane', kind: 'sim', path: 'sim' });
  const order = { clip: 0, sim: 1, mot: 2 } as const;
  return out.sort((a, b) => order[a.kind] - order[b.kind] || a.name.localeCompare(b.name));
}

/**
 * Resolve a target: 'all', a clip or sequence name as listed by
 * discoverSources (e.g. 'motorway-cctv', 'TUD-Campus', 'MOT17-04-FRCNN'),
 * 'sim', or a path to a video file or MOT sequence folder.
 */
export function resolveTarget(target: string, dataDir: string): EvalSource[] {
  const all = discoverSources(dataDir);
  if (target === 'all') return all;
  const named = all.filter((s) => s.name === target || s.name.endsWith(`-${target}`) || (target === 'sim' && s.kind === 'sim'));
  if (named.length === 1) return named;
  const p = resolve(target);
  if (existsSync(p)) {
    if (statSync(p).isDirectory() && isMotDir(p)) return [{ name: basename(p), kind: 'mot', path: p }];
    if (statSync(p).isFile()) return [{ name: basename(p).replace(/\.[^.]+$/, ''), kind: 'clip', path: p }];
  }
  throw new ConfigError('target', `unknown sequence or clip '${target}' (known: all, ${all.map((s) => s.name).join(', ')})`);
}
