/**
 * `bestshot check-config --load-model`: the OTA self-check's model load
 * (docs/deploy.md). The real YOLOX-Nano loads; a truncated copy is refused with the
 * model's own error and exit 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MANIFEST_PATH } from '../../src/detect/model-file.js';
import { PROJECT_ROOT, SHARED_MODELS_DIR } from '../../src/paths.js';

function checkConfig(config: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'check-config', '--quiet', '--load-model', config], {
    encoding: 'utf8',
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' },
  });
}

test('check-config --load-model loads the configured model, and refuses a truncated one', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-selfcheck-'));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, `version: 1\nmodel: { path: ${join(SHARED_MODELS_DIR, 'yolox_nano.onnx')}, providers: [cpu] }\ncameras:\n  - { id: cam, source: { type: test, width: 64, height: 48, framerate: 5 } }\nupload: { endpoint: 'https://cloud.example/v1/packages' }\n`);
  const ok = checkConfig(good);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /^model OK .*yolox_nano\.onnx \(provider cpu, sha256 4903c9058f6e2553…\)$/m);

  const truncated = join(dir, 'yolox_nano.onnx');
  writeFileSync(truncated, readFileSync(join(SHARED_MODELS_DIR, 'yolox_nano.onnx')).subarray(0, 100_000));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, `version: 1\nmodel: { path: ${truncated}, providers: [cpu] }\ncameras:\n  - { id: cam, source: { type: test, width: 64, height: 48, framerate: 5 } }\nupload: { endpoint: 'https://cloud.example/v1/packages' }\n`);
  const refused = checkConfig(bad);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: model: \\[ERR_MODEL_CHECKSUM\\] `, 'm'));
});

test('check-config --load-model: a model its manifest does not describe gets no OK line, only the model error', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-selfcheck-mismatch-'));
  const model = join(dir, 'detector.onnx');
  writeFileSync(model, readFileSync(join(SHARED_MODELS_DIR, 'yolox_nano.onnx')));
  const manifest = JSON.parse(readFileSync(DEFAULT_MANIFEST_PATH, 'utf8')) as { input: { name: string; width: number; height: number } };
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `version: 1\nmodel: { path: ${model}, providers: [cpu] }\ncameras:\n  - { id: cam, source: { type: test, width: 64, height: 48, framerate: 5 } }\nupload: { endpoint: 'https://cloud.example/v1/packages' }\n`);
  const cases: Array<[string, (m: typeof manifest) => void, string]> = [
    ['a 320x320 manifest for the 416x416 model', (m) => ((m.input.width = 320), (m.input.height = 320)), `input 'images' shape is [1,3,416,416], manifest expects [1,3,320,320] (NCHW, batch 1, 320x320)`],
    ['a wrong input name', (m) => (m.input.name = 'input'), `it has no input 'input' (inputs: images)`],
  ];
  for (const [what, change, differs] of cases) {
    const wrong = structuredClone(manifest);
    change(wrong);
    writeFileSync(join(dir, 'detector.json'), JSON.stringify(wrong));
    const r = checkConfig(config);
    assert.equal(r.status, 1, what);
    // The OTA self-check greps for OK: it must not be there when the load failed.
    assert.equal(r.stderr, `${config}: model: [ERR_MODEL_MISMATCH] Model ${model} does not match manifest '${join(dir, 'detector.json')}': ${differs}\n`, what);
    assert.equal(r.stdout, '', what);
  }
});
