/** scripts/fetch-model.sh (D1 model provenance): installs the shared copy, is idempotent, refuses unknown digests. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sha256Hex } from '../../src/detect/index.js';
import { PROJECT_ROOT, SHARED_MODELS_DIR } from '../../src/paths.js';

const SCRIPT = join(PROJECT_ROOT, 'scripts', 'fetch-model.sh');
const dir = mkdtempSync(join(tmpdir(), 'bestshot-fetch-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, BESTSHOT_MODELS_DIR: join(dir, 'models') };
const SHARED_DIGEST = '4903c9058f6e2553834e9905be1ae5d67e262cb6321964dbc57a49edc6fa10da';

describe('D1 scripts/fetch-model.sh', () => {
  test('D1 installs the shared copy and names the digest that matched', () => {
    const out = execFileSync(SCRIPT, [], { env, encoding: 'utf8' });
    const dest = join(dir, 'models', 'yolox_nano.onnx');
    assert.equal(sha256Hex(readFileSync(dest)), SHARED_DIGEST);
    assert.equal(
      out.trim().split('\n').at(-1),
      `fetch-model: installed ${dest}; sha256 ${SHARED_DIGEST} matches the ../shared copy (skpawar1305/rs_yolox@18ff8bc weights/yolox_nano.onnx, same size as the upstream asset)`,
    );
  });

  test('D1 idempotent: a second run keeps the installed model', () => {
    const out = execFileSync(SCRIPT, [], { env, encoding: 'utf8' });
    assert.match(out, /already present; sha256 4903c9058f6e2553834e9905be1ae5d67e262cb6321964dbc57a49edc6fa10da matches/);
  });

  test('D1 a local file with an unknown digest is refused and not installed', () => {
    const bad = join(dir, 'bad.onnx');
    const bytes = readFileSync(join(SHARED_MODELS_DIR, 'yolox_nano.onnx')).subarray(0, 4096);
    writeFileSync(bad, bytes);
    const r = spawnSync(SCRIPT, [bad], { env, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr.trim(),
      `fetch-model: refused: sha256 ${sha256Hex(bytes)} is not one of the accepted digests (${SHARED_DIGEST} c789161ed43c8269fcd4e67c67eeeb4e80c622da2eb296a20bc6007bd18a0b7d)`,
    );
    assert.equal(sha256Hex(readFileSync(join(dir, 'models', 'yolox_nano.onnx'))), SHARED_DIGEST, 'the good model stays');
  });

  test('D1 a local path that does not exist', () => {
    const r = spawnSync(SCRIPT, [join(dir, 'nope.onnx')], { env, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), `fetch-model: not a file: ${join(dir, 'nope.onnx')}`);
  });

  test('D1 a models folder on a full disk: said as such, nothing left in it (it said "no shared copy and the download failed")', (t) => {
    const small = join(dir, 'small-disk');
    mkdirSync(small, { recursive: true });
    if (process.getuid?.() !== 0 || spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]).status !== 0) {
      t.skip('needs root to mount a small tmpfs');
      return;
    }
    try {
      // The model is 3.7 MB: the copy from the shared folder, then a local file, both stop at 1 MB.
      const r = spawnSync(SCRIPT, [], { env: { ...env, BESTSHOT_MODELS_DIR: small }, encoding: 'utf8' });
      assert.match(r.stderr, new RegExp(`^fetch-model: cannot copy \\S+/models/yolox_nano\\.onnx into ${small}: No space left on device; nothing installed\n$`));
      assert.equal(r.status, 1);
      const local = join(dir, 'models', 'yolox_nano.onnx');
      const l = spawnSync(SCRIPT, [local], { env: { ...env, BESTSHOT_MODELS_DIR: small }, encoding: 'utf8' });
      assert.equal(l.stderr, `fetch-model: cannot copy ${local} into ${small}: No space left on device; nothing installed\n`);
      assert.equal(l.status, 1);
      assert.deepEqual(readdirSync(small), []);
    } finally {
      spawnSync('umount', [small]);
    }
  });

  test('D1 a mistyped option or a second argument: a usage error (exit 2), nothing fetched', () => {
    const typo = spawnSync(SCRIPT, ['--downlaod'], { env, encoding: 'utf8' });
    // Before: "fetch-model: not a file: --downlaod", exit 1.
    assert.equal(typo.stderr, "fetch-model: unknown option '--downlaod'; usage: scripts/fetch-model.sh [--download | <path.onnx>]\n");
    assert.equal(typo.status, 2);
    // Before: the second argument was ignored.
    const two = spawnSync(SCRIPT, [join(dir, 'a.onnx'), join(dir, 'b.onnx')], { env, encoding: 'utf8' });
    assert.equal(two.stderr, 'fetch-model: one argument at most, got 2; usage: scripts/fetch-model.sh [--download | <path.onnx>]\n');
    assert.equal(two.status, 2);
    assert.equal(typo.stdout + two.stdout, '');
  });
});
