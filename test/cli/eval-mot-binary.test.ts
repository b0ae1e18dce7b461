/**
 * `bestshot eval-mot` given an image or another binary file where a
 * MOTChallenge text file should be: one line saying what the file is, with no
 * raw bytes in it (the first 'line' of a JPEG used to be echoed into the
 * message, garbling the terminal), exit 2 as for any other unreadable row (an input error).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, SHARED_DATA_DIR, sharedPath } from '../../src/paths.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' } });

test('eval-mot --res an image or a binary file: exit 2, one line saying what it is, no raw bytes', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-evalmot-binary-'));
  try {
    const gt = join(sharedPath('mot15-TUD-Campus'), 'gt', 'gt.txt');
    const jpeg = join(SHARED_DATA_DIR, 'coco-images', '000000000139.jpg');
    const binary = join(dir, 'result.txt');
    writeFileSync(binary, Buffer.from([0x31, 0x2c, 0x32, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x0a]));
    // Text, but with a control character on a bad line: quoted with '?' in its place.
    const control = join(dir, 'control.txt');
    writeFileSync(control, '1,2,3\x1b[2J,zz\n');
    const said: Array<[string, string]> = [
      [jpeg, `${jpeg}: is a JPEG image, not a MOTChallenge text file (frame,id,left,top,width,height,... per line)`],
      [binary, `${binary}: is a binary file, not a MOTChallenge text file (frame,id,left,top,width,height,... per line)`],
      [control, `${control}:1: expected 'frame,id,left,top,width,height,...' but read '1,2,3?[2J,zz'`],
    ];
    for (const [res, message] of said) {
      const r = cli(['eval-mot', '--gt', gt, '--res', res]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `bestshot eval-mot: [ERR_INPUT] ${message}\n`);
      assert.doesNotMatch(r.stderr.trimEnd(), /[\p{Cc}\ufffd]/u, 'no raw bytes on the terminal');
      assert.equal(r.stdout, '');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
