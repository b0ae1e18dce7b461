/**
 * `bestshot run` with a model it cannot use ends with one line carrying the
 * error's code and its fix. A missing model used to print the config's JSON
 * warning ('model.path: file not found') and then `bestshot run: Model file
 * not found: …`, no code, no fix; a wrong model lost its code too (the
 * error came back from the detection worker without it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MANIFEST_PATH } from '../../src/detect/model-file.js';
import { SHARED_MODELS_DIR } from '../../src/paths.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { spawnCli } from '../helpers/spawn-cli.js';

const SOURCE = '{ type: test, width: 64, height: 48, framerate: 5, numBuffers: 5 }';

test('a missing model: exit 1 and one line, its code and the fix check-config gives', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-run-nomodel-'));
  try {
    const config = writeRunConfig(dir, { source: SOURCE, endpoint: 'http://127.0.0.1:9/packages', model: '{ path: /nonexistent/x.onnx, providers: [cpu] }' });
    const cli = spawnCli(['run', '--config', config], { BESTSHOT_TEST_TOKEN: 't' });
    const [code] = await cli.closed;
    const { stdout, stderr } = cli.output();
    assert.equal(code, 1, stderr);
    assert.equal(stderr, 'bestshot run: [ERR_MODEL_NOT_FOUND] model.path: no model file at /nonexistent/x.onnx: run scripts/fetch-model.sh or set model.path\n');
    assert.equal(stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model its manifest does not describe: the error line keeps its code [ERR_MODEL_MISMATCH]', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-run-mismatch-'));
  try {
    const model = join(dir, 'detector.onnx');
    writeFileSync(model, readFileSync(join(SHARED_MODELS_DIR, 'yolox_nano.onnx')));
    const manifest = JSON.parse(readFileSync(DEFAULT_MANIFEST_PATH, 'utf8')) as { name: string; input: { width: number; height: number } };
    manifest.input.width = 320;
    manifest.input.height = 320;
    writeFileSync(join(dir, 'detector.json'), JSON.stringify(manifest));
    const config = writeRunConfig(dir, { source: SOURCE, endpoint: 'http://127.0.0.1:9/packages', model: `{ path: ${model}, providers: [cpu] }` });
    const cli = spawnCli(['run', '--config', config], { BESTSHOT_TEST_TOKEN: 't' });
    const [code] = await cli.closed;
    const { stdout, stderr } = cli.output();
    assert.equal(code, 1, stderr);
    assert.equal(
      stderr.split('\n').find((l) => l.startsWith('bestshot run: ')),
      `bestshot run: [ERR_MODEL_MISMATCH] Model ${model} does not match manifest '${manifest.name}': input 'images' shape is [1,3,416,416], manifest expects [1,3,320,320] (NCHW, batch 1, 320x320)`,
    );
    assert.equal(stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
