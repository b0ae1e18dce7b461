/**
 * `bestshot detect` on inputs and outputs that are not what they seem, as a
 * user gives them: the real CLI as a subprocess. A JPEG cut short decodes
 * without a word from GStreamer (the missing part grey); --annotate writes a
 * JPEG whatever the name says.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, SHARED_DATA_DIR } from '../../src/paths.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const IMAGE = join(SHARED_DATA_DIR, 'coco-images', '000000000139.jpg');
const dir = mkdtempSync(join(tmpdir(), 'bestshot-detect-inputs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const detect = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, 'detect', ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    killSignal: 'SIGKILL',
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' },
  });

test('detect on a JPEG cut short warns that it is cut short, in text and --json mode; a whole one does not', { timeout: 120_000 }, () => {
  const cut = join(dir, 'cut.jpg');
  writeFileSync(cut, readFileSync(IMAGE).subarray(0, 5000));
  const warning = `bestshot detect: warning: ${cut} is a JPEG cut short (its 5000 bytes end before the image does): the decoder filled in the missing part (grey), so nothing in that part was detected; copy the image again`;
  for (const mode of [[], ['--json']]) {
    const r = detect(cut, '--providers', 'cpu', ...mode);
    // Warned, not refused: the part that decoded was analysed and its result printed.
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, mode.length === 0 ? /^frame 0 \(640x426\): /m : /^\{"frame":0,"width":640,"height":426,/m);
    assert.equal(r.stderr.trim(), warning);
  }
  const whole = detect(IMAGE, '--providers', 'cpu');
  assert.equal(whole.status, 0, whole.stderr);
  assert.equal(whole.stderr, '');
});

test('detect --annotate with a name that is not .jpg/.jpeg is a usage error (exit 2) naming the extension, before the model loads', { timeout: 60_000 }, () => {
  const png = join(dir, 'out.png');
  const r = detect(IMAGE, '--providers', 'cpu', '--annotate', png);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim(), `bestshot detect: [ERR_USAGE] cannot write --annotate ${png}: the annotated frame is a JPEG, not .png; give a name ending in .jpg, e.g. ${join(dir, 'out.jpg')}`);
  assert.equal(existsSync(png), false);
  // .jpeg in any case is a JPEG's name.
  const upper = join(dir, 'out.JPEG');
  const ok = detect(IMAGE, '--providers', 'cpu', '--annotate', upper);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual([...readFileSync(upper).subarray(0, 2)], [0xff, 0xd8]);
});

test('detect: an unknown option says how to pass a positional that starts with "-", its quotes balanced', () => {
  const r = detect('--bogus');
  assert.equal(r.status, 2, r.stderr);
  assert.equal(
    r.stderr.trim(),
    "bestshot detect: Unknown option '--bogus'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- --bogus'. Run 'bestshot detect --help' for its options.",
  );
});
