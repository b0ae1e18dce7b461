/**
 * End to end: `bestshot replay` on a real clip with the real model
 * and the real reference receiver; the receiver's store is checked against
 * the upload log (every logged package stored once, metadata valid against
 * the schema, JPEGs decode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../../src/capture/index.js';
import { validatePackageMetadata } from '../../src/upload/index.js';
import { spawnReceiver } from '../upload/helpers.js';
import { TRAFFIC_CLIPS_DIR, PROJECT_ROOT, sharedPath } from '../../src/paths.js';

const CLIP_FOR_TWICE = join(TRAFFIC_CLIPS_DIR, 'motorway-overpass-light.mp4');

test('replay of a real clip: every logged package is stored once, valid, and decodes', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-replay-'));
  const clip = join(TRAFFIC_CLIPS_DIR, 'overhead-lane-cars.mp4');
  const out = execFileSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'demo', '--clip', clip], {
    env: { ...process.env, BESTSHOT_DEMO_DIR: dir, BESTSHOT_FROM_SOURCE: '1' },
    encoding: 'utf8',
  });
  assert.match(out, /images selected:\s+\d+ immediate \+ \d+ cached/);
  const log = readFileSync(join(dir, 'run', 'uploads.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { idempotencyKey: string; imageId: number; bytes: number; route: string });
  assert.ok(log.length > 0, 'the run selected no image');
  const keys = log.map((u) => u.idempotencyKey);
  assert.equal(new Set(keys).size, keys.length, 'a package was logged twice');
  const stored = readdirSync(join(dir, 'run', 'receiver', 'packages')).map(decodeURIComponent).sort();
  assert.deepEqual(stored, [...keys].sort(), 'receiver store differs from the upload log');
  for (const u of log) {
    const pkgDir = join(dir, 'run', 'receiver', 'packages', encodeURIComponent(u.idempotencyKey));
    const meta = JSON.parse(readFileSync(join(pkgDir, 'metadata.json'), 'utf8')) as { imageId: number; image: { bytes: number }; tracks: unknown[] };
    assert.deepEqual(validatePackageMetadata(meta), []);
    assert.equal(meta.imageId, u.imageId);
    assert.equal(meta.image.bytes, u.bytes);
    assert.ok(meta.tracks.length >= 1, 'a package without any track entry');
  }
  // JPEGs decode (a sample, through GStreamer), at the clip's size.
  for (const u of log.slice(0, 3)) {
    const src = openCapture({ source: { type: 'file', path: join(dir, 'run', 'receiver', 'packages', encodeURIComponent(u.idempotencyKey), 'image.jpg') } });
    const f = await src.next();
    src.close();
    assert.equal(f?.width, 768);
    assert.equal(f?.height, 432);
  }
  const summary = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as { delivered: number; undelivered: number; bytesSelected: number; bytesEveryFrame: number };
  assert.equal(summary.undelivered, 0);
  assert.equal(summary.delivered, log.length);
  assert.ok(summary.bytesEveryFrame > summary.bytesSelected);
  assert.ok(existsSync(join(dir, 'run', 'report', 'report.html')));
  assert.match(readFileSync(join(dir, 'run', 'report', 'report.html'), 'utf8'), /Best shot per object/);
  assert.ok(existsSync(join(dir, 'run', 'tracks.jsonl')));
  // Everything of the run is under its folder, with its own log.
  // The run's images are written once, into its report's images/.
  for (const f of ['queue.sqlite', 'state', 'run.log', join('report', 'images')]) assert.ok(existsSync(join(dir, 'run', f)), `${f} not in the run folder`);
  assert.equal(existsSync(join(dir, 'run', 'images')), false, 'no second copy of the images');
  // A second run in the same folder never sees the first one's packages.
  execFileSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'demo', '--clip', clip], {
    env: { ...process.env, BESTSHOT_DEMO_DIR: dir, BESTSHOT_FROM_SOURCE: '1' },
    encoding: 'utf8',
  });
  const second = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as { delivered: number };
  assert.equal(readdirSync(join(dir, 'run', 'receiver', 'packages')).length, second.delivered);
});

test('a second replay on the --out of one still running is refused (exit 1) naming it, and leaves its files', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-replay-twice-'));
  const out = join(dir, 'out');
  const clip = join(TRAFFIC_CLIPS_DIR, 'motorway-cctv.avi');
  const env = { ...process.env, BESTSHOT_FROM_SOURCE: '1' };
  const first = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'replay', clip, '--out', out, '--quiet'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  first.stderr.on('data', (c: Buffer) => (said += c.toString()));
  const exited = new Promise<number | null>((resolve) => first.on('close', (code) => resolve(code)));
  try {
    // Both of its locks taken: its queue's and (once the earlier run's files were removed) its stateDir's.
    for (let i = 0; i < 600 && !existsSync(join(out, 'state', 'bestshot.lock')); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(join(out, 'queue.sqlite.lock')), said);
    // Before: the second removed the first one's queue, state and store under it, then both ran on them.
    const second = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'replay', clip, '--out', out, '--quiet'], { env, encoding: 'utf8' });
    assert.equal(second.status, 1, second.stderr);
    const since = (JSON.parse(readFileSync(join(out, 'queue.sqlite.lock'), 'utf8')) as { since: string }).since;
    assert.equal(
      second.stderr.trim(),
      `bestshot replay: [ERR_LOCKED] queue ${join(out, 'queue.sqlite')} is in use by another process: bestshot replay (pid ${first.pid}, since ${since}) holds ${join(out, 'queue.sqlite.lock')}; two processes on one queue take each other's packages and set its file aside as corrupt: stop that one first, or give this one an --out of its own`,
    );
    assert.equal(await exited, 0, said.slice(-2000));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { delivered: number };
    assert.equal(readdirSync(join(out, 'receiver', 'packages')).length, summary.delivered, 'the first run kept its store');
    assert.equal(existsSync(join(out, 'queue.sqlite.lock')) || existsSync(join(out, 'state', 'bestshot.lock')), false, 'its locks given back');
  } finally {
    first.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay of a missing recording fails with a clear error and exit 2, before the model loads', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-replay-missing-'));
  const missing = join(dir, 'no-such-clip.mp4');
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'replay', missing, '--out', join(dir, 'out'), '--quiet'], {
    env: { ...process.env, BESTSHOT_DEMO_DIR: dir, BESTSHOT_FROM_SOURCE: '1' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), `bestshot replay: [ERR_USAGE] no such recording: ${missing}`);
});

test('demo with a wrong --policy or a missing --clip: the usage error alone on stderr, exit 2, no banner on stdout', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-demo-usage-'));
  const cases: [string[], string][] = [
    [['--policy', 'bogus'], "bestshot demo: [ERR_USAGE] Expected one of spec, every-frame, interval, frigate, frigate-quality, final-best, replace-queued, shared-best, deadline-cover, budget for --policy but received 'bogus'"],
    [['--clip', join(dir, 'none.mp4')], `bestshot demo: [ERR_USAGE] no such recording: ${join(dir, 'none.mp4')}`],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'demo', ...args], {
      env: { ...process.env, BESTSHOT_DEMO_DIR: dir, BESTSHOT_FROM_SOURCE: '1' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim(), message);
    // Before: 'bestshot demo: … → reference receiver on loopback' first, as if the run had started.
    assert.equal(r.stdout, '');
  }
});

test('two replays of one camera to the same endpoint: every package stored, none refused as a reused imageId', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-replay-twice-'));
  const receiver = await spawnReceiver(['--port', '0', '--dir', join(dir, 'rcv'), '--token', 'twice', '--quiet']);
  try {
    const config = join(dir, 'cam.yaml');
    writeFileSync(config, `version: 1\nmodel: { providers: [cpu] }\ncameras:\n  - id: cam1\n    source: { type: file, path: ${CLIP_FOR_TWICE} }\nupload: { endpoint: "${receiver.url}/packages", token: twice, sendHz: 20 }\nmetrics: { enabled: false }\n`);
    const replay = (out: string) =>
      spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'replay', CLIP_FOR_TWICE, '--config', config, '--out', join(dir, out), '--quiet'], {
        env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' },
        encoding: 'utf8',
      });
    const first = replay('a');
    assert.equal(first.status, 0, first.stderr);
    const second = replay('b');
    // Before: the second replay numbered its frames from 1 again; the receiver answered 409 for each
    // key it held another image under, and the replay still printed success and exited 0.
    assert.equal(second.status, 0, second.stderr.slice(-2000));
    // 'HTTP 409' as the sender and the hints say it (a bare /409/ matched a duration such as streamWallMs 4409.9).
    assert.doesNotMatch(second.stderr, /dead-lettered|HTTP 409/);
    const delivered = (out: string) => Number(/delivered:\s+(\d+) acknowledged/.exec(out)?.[1]);
    const stats = (await (await fetch(`${receiver.url}/stats`, { headers: { authorization: 'Bearer twice' } })).json()) as { stored: number };
    assert.equal(stats.stored, delivered(first.stdout) + delivered(second.stdout));
  } finally {
    await receiver.stop();
  }
});

test('replay of a MOT sequence (det.txt, no images): tracks and selections logged on the captureHz grid, nothing uploaded', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-replay-mot-'));
  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'replay', sharedPath('mot15-TUD-Campus'), '--out', out], {
    env: { ...process.env, BESTSHOT_DEMO_DIR: dir, BESTSHOT_FROM_SOURCE: '1' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  // TUD-Campus: 71 frames at 25 fps = 2.84 s → ticks at 0, 0.1, …, 2.8 s: 29 frames on the 10 Hz grid.
  assert.match(r.stdout, /\(71 frames at 25 fps; 29 on the 10 Hz grid\)/);
  assert.match(r.stdout, /uploads:\s+none \(a MOT sequence carries no images\)/);
  const frames = readFileSync(join(out, 'tracks.jsonl'), 'utf8').trim().split('\n');
  assert.equal(frames.length, 29);
  const selections = readFileSync(join(out, 'selections.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { trackIds: number[]; route: string });
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { objectsTracked: number; selectionsImmediate: number; selectionsCached: number };
  assert.equal(selections.length, summary.selectionsImmediate + summary.selectionsCached);
  // S6: every tracked object is selected at least once.
  const selected = new Set(selections.flatMap((s) => s.trackIds));
  assert.equal(selected.size, summary.objectsTracked);
  // --report has nothing to show here: said, not ignored without a word.
  const withReport = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'replay', sharedPath('mot15-TUD-Campus'), '--out', join(dir, 'out2'), '--report'], {
    env: { ...process.env, BESTSHOT_DEMO_DIR: dir, BESTSHOT_FROM_SOURCE: '1' },
    encoding: 'utf8',
  });
  assert.equal(withReport.status, 0, withReport.stderr);
  assert.match(withReport.stderr, /^bestshot replay: warning: --report ignored: a MOT sequence carries no images/m);
});
