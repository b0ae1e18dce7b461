import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createMetrics, LATENCY_BUCKETS_S, startMetricsServer, type HealthStatus, type MetricsServer } from '../src/prometheus.js';

const servers: MetricsServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function start(opts: Parameters<typeof startMetricsServer>[0]): Promise<MetricsServer> {
  const s = await startMetricsServer(opts);
  servers.push(s);
  return s;
}

/** The value of one sample line, e.g. bestshot_frames_captured_total{camera="gate"}. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics registry', () => {
  test('every product metric is defined with its type', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const text = await m.registry.metrics();
    const types = Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((x) => [x[1], x[2]]));
    assert.deepEqual(types, {
      bestshot_stage_latency_seconds: 'histogram',
      bestshot_frames_captured_total: 'counter',
      bestshot_frames_skipped_total: 'counter',
      bestshot_frames_dropped_total: 'counter',
      bestshot_tracks_active: 'gauge',
      bestshot_tracks_created_total: 'counter',
      bestshot_selections_total: 'counter',
      bestshot_packages_sent_total: 'counter',
      bestshot_bytes_sent_total: 'counter',
      bestshot_queue_depth: 'gauge',
      bestshot_queue_bytes: 'gauge',
      bestshot_queue_dropped_total: 'counter',
      bestshot_queue_lost_packages: 'gauge',
      bestshot_queue_dead_letters: 'gauge',
      bestshot_upload_errors_total: 'counter',
      bestshot_exposure_time_seconds: 'gauge',
      bestshot_exposure_gain: 'gauge',
      bestshot_exposure_mode_switches_total: 'counter',
      bestshot_exposure_clamped_total: 'counter',
      bestshot_worker_restarts_total: 'counter',
      bestshot_camera_restarts_total: 'counter',
      bestshot_camera_up: 'gauge',
    });
  });

  test('values by label; latency histogram buckets 1 ms … 1 s', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.framesCaptured.inc({ camera: 'gate' }, 3);
    m.framesDropped.inc({ camera: 'gate', reason: 'backpressure' });
    m.selections.inc({ camera: 'gate', route: 'immediate' }, 2);
    m.packagesSent.inc({ camera: 'gate', route: 'cached' });
    m.queueDepth.set(7);
    m.uploadErrors.inc({ kind: 'timeout' });
    m.exposureTime.set({ camera: 'gate' }, 0.001);
    m.observeStageMs('gate', 'detect', 17);
    m.observeStageMs('gate', 'detect', 1500);
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'bestshot_frames_captured_total{camera="gate"}'), 3);
    assert.equal(sample(text, 'bestshot_frames_dropped_total{camera="gate",reason="backpressure"}'), 1);
    assert.equal(sample(text, 'bestshot_selections_total{camera="gate",route="immediate"}'), 2);
    assert.equal(sample(text, 'bestshot_packages_sent_total{camera="gate",route="cached"}'), 1);
    assert.equal(sample(text, 'bestshot_queue_depth'), 7);
    assert.equal(sample(text, 'bestshot_upload_errors_total{kind="timeout"}'), 1);
    assert.equal(sample(text, 'bestshot_exposure_time_seconds{camera="gate"}'), 0.001);
    const les = [...text.matchAll(/bestshot_stage_latency_seconds_bucket\{le="([^"]+)",camera="gate",stage="detect"\} (\d+)/g)].map((x) => [
      x[1],
      Number(x[2]),
    ]);
    assert.deepEqual(
      les.map(([le]) => le),
      [...LATENCY_BUCKETS_S.map(String), '+Inf'],
    );
    assert.deepEqual(
      les.map(([, n]) => n),
      [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2],
    );
    assert.equal(sample(text, 'bestshot_stage_latency_seconds_count{camera="gate",stage="detect"}'), 2);
    assert.ok(Math.abs((sample(text, 'bestshot_stage_latency_seconds_sum{camera="gate",stage="detect"}') ?? 0) - 1.517) < 1e-9);
  });

  test('two registries do not collide; default process metrics are optional', async () => {
    const a = createMetrics();
    const b = createMetrics({ prefix: 'unit_', labels: { unit: 'rsu-17' } });
    a.framesCaptured.inc({ camera: 'x' });
    assert.match(await a.registry.metrics(), /^bestshot_process_resident_memory_bytes \d+/m);
    const text = await b.registry.metrics();
    assert.equal(sample(text, 'unit_frames_captured_total{camera="x",unit="rsu-17"}'), undefined);
    assert.match(text, /^unit_queue_depth\{unit="rsu-17"\} 0$/m);
    assert.throws(() => createMetrics({ prefix: 'bad-prefix' }), {
      name: 'TypeError',
      message: "Expected metric name prefix matching /^[a-zA-Z_:][a-zA-Z0-9_:]*$/ for prefix but received 'bad-prefix'",
    });
  });
});

describe('metrics server over real HTTP on loopback', () => {
  test('/metrics serves the registry in the Prometheus text format', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const s = await start({ port: 0, registry: m.registry });
    assert.equal(s.url, `http://127.0.0.1:${s.port}`);
    m.tracksCreated.inc({ camera: 'gate' }, 5);
    const res = await fetch(`${s.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(await res.text(), 'bestshot_tracks_created_total{camera="gate"}'), 5);
    m.tracksCreated.inc({ camera: 'gate' });
    assert.equal(sample(await (await fetch(`${s.url}/metrics`)).text(), 'bestshot_tracks_created_total{camera="gate"}'), 6);
  });

  test('/healthz answers 503 until ready, then 200, with details (secrets redacted)', async () => {
    let status: HealthStatus = { ready: false, details: { cameras: { gate: 'starting' }, detector: 'loading' } };
    const s = await start({ port: 0, registry: new Registry(), health: () => status });
    let res = await fetch(`${s.url}/healthz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 'not ready', cameras: { gate: 'starting' }, detector: 'loading' });
    status = { ready: true, details: { cameras: { gate: 'delivering' }, detector: 'loaded', token: 'x' } };
    res = await fetch(`${s.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ready', cameras: { gate: 'delivering' }, detector: 'loaded', token: '[redacted]' });
  });

  test('a health check that throws is 503 with its message', async () => {
    const s = await start({
      port: 0,
      registry: new Registry(),
      health: async () => {
        throw new Error('detector session lost');
      },
    });
    const res = await fetch(`${s.url}/healthz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 'not ready', error: 'detector session lost' });
  });

  test('404 for other paths, 405 for other methods, HEAD without body', async () => {
    const s = await start({ port: 0, registry: new Registry() });
    assert.equal((await fetch(`${s.url}/`)).status, 404);
    const post = await fetch(`${s.url}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(`${s.url}/healthz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('a taken port is a clear error; close() is idempotent and frees the port', async () => {
    const s = await startMetricsServer({ port: 0, registry: new Registry() });
    await assert.rejects(startMetricsServer({ port: s.port, registry: new Registry() }), {
      message: `metrics server cannot listen on 127.0.0.1:${s.port} (EADDRINUSE)`,
    });
    await fetch(`${s.url}/healthz`); // leaves a keep-alive connection open
    await Promise.all([s.close(), s.close()]);
    await s.close();
    await assert.rejects(fetch(`${s.url}/healthz`));
    const again = await start({ port: s.port, registry: new Registry() });
    assert.equal(again.port, s.port);
    await assert.rejects(startMetricsServer({ port: 70000, registry: new Registry() }), {
      name: 'RangeError',
      message: 'Expected integer between 0 and 65535 for port but received 70000',
    });
  });
});
