/**
 * `bestshot replay` of a real clip as a user runs it (the CLI as a
 * subprocess, the real model, the embedded receiver), for tests of what the
 * receiver stores: one camera with the camera and upload keys a test needs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';

export interface ReplayRun {
  /** The replay's --out folder (summary.json, uploads.jsonl, …). */
  out: string;
  /** Where the receiver stored the packages: one folder per idempotency key. */
  packages: string;
}

export function replayClip(clip: string, opts: { cameraId: string; camera: string; upload: string; env?: NodeJS.ProcessEnv }): ReplayRun {
  const dir = mkdtempSync(join(tmpdir(), `bestshot-replay-${opts.cameraId}-`));
  const cfg = join(dir, 'cfg.yaml');
  writeFileSync(
    cfg,
    `version: 1
model: { providers: [cpu], intraOpThreads: 2 }
cameras:
  - id: ${opts.cameraId}
    source: { type: file, path: ${clip}, realtime: false }
    captureHz: 10
    exposure: { mode: auto }
    position: { type: none }
${opts.camera
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => `    ${l.trim()}`)
  .join('\n')}
upload: ${opts.upload}
queue: { path: ${dir}/queue.sqlite, synchronous: normal }
receiver: { embedded: true, port: 0, dir: ${dir}/receiver }
metrics: { enabled: false }
stateDir: ${dir}/state
`,
  );
  const out = join(dir, 'out');
  execFileSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'replay', clip, '--config', cfg, '--out', out, '--quiet'], {
    env: { ...process.env, BESTSHOT_SHARED_DIR: SHARED_DIR, ...opts.env },
    encoding: 'utf8',
  });
  return { out, packages: join(out, 'receiver', 'packages') };
}
