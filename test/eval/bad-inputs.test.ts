/** `npm run eval` on inputs that are not what it expects: one line naming the input, and no NaN in the tables. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { evaluateInput, formatTable, loadMotInput } from '../../src/eval/index.js';
import { PROJECT_ROOT, sharedPath } from '../../src/paths.js';

const root = mkdtempSync(join(tmpdir(), 'bestshot-eval-inputs-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a file that is not a video ends the eval in one line naming it and the cause, exit 1', { timeout: 120_000 }, () => {
  const clip = join(root, 'x.mp4');
  writeFileSync(clip, 'not a video\n');
  const results = join(PROJECT_ROOT, 'benchmarks', 'results');
  const before = readdirSync(results);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'benchmarks', 'eval.ts'), clip, '--no-cache', '--policies', 'spec'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  // Before: an uncaught CaptureError with its stack trace.
  assert.equal(r.stderr.trim(), `eval: [ERR_CAPTURE] ${clip} is not a video file GStreamer can read (empty, or another kind of file): check the path (Could not determine type of stream. from typefind)`);
  assert.deepEqual(readdirSync(results), before, 'nothing written');
});

test('an input with no objects prints — for tracks per object and the split share, not NaN', () => {
  const dir = join(root, 'no-objects');
  mkdirSync(join(dir, 'det'), { recursive: true });
  cpSync(sharedPath('mot15-TUD-Campus', 'seqinfo.ini'), join(dir, 'seqinfo.ini'));
  writeFileSync(join(dir, 'det', 'det.txt'), '');
  const rep = evaluateInput(loadMotInput(dir), { policies: ['spec'], sendHz: 2 });
  assert.equal(rep.objects.total, 0);
  const table = formatTable(rep);
  assert.doesNotMatch(table, /NaN/);
  assert.match(table.split('\n')[0]!, /objects 0 \(eligible 0, coverable 0\); tracks 0; — tracks per object, — % of objects split$/);
});
