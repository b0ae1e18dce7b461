import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLogger, formatPretty, redactFields, RepeatedLine, type LogSink } from '../src/log.js';
import { ConfigError } from '../src/errors.js';
import { PROJECT_ROOT } from '../src/paths.js';

const T0 = new Date('2026-11-24T20:00:00.123Z');

function sink(isTTY = false): LogSink & { lines: string[]; json(): Array<Record<string, unknown>> } {
  const lines: string[] = [];
  return {
    isTTY,
    lines,
    write(s: string) {
      lines.push(s);
    },
    json() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
}

describe('structured logger', () => {
  test('JSON lines: time, level, msg, then fields, one object per line', () => {
    const s = sink();
    const log = createLogger({ stream: s, now: () => T0 });
    log.info('camera started', { camera: 'gate', width: 1280 });
    assert.equal(s.lines.length, 1);
    assert.equal(s.lines[0], '{"time":"2026-11-24T20:00:00.123Z","level":"info","msg":"camera started","camera":"gate","width":1280}\n');
  });

  test('levels below the threshold are not written', () => {
    const s = sink();
    const log = createLogger({ stream: s, level: 'warn', now: () => T0 });
    log.trace('a');
    log.debug('b');
    log.info('c');
    log.warn('d');
    log.error('e');
    log.fatal('f');
    assert.deepEqual(
      s.json().map((l) => `${String(l.level)}:${String(l.msg)}`),
      ['warn:d', 'error:e', 'fatal:f'],
    );
    assert.equal(log.isLevelEnabled('info'), false);
    assert.equal(log.isLevelEnabled('error'), true);
    const silent = createLogger({ stream: s, level: 'silent' });
    silent.fatal('x');
    assert.equal(s.lines.length, 3);
  });

  test('child loggers bind fields; later bindings and call fields win', () => {
    const s = sink();
    const root = createLogger({ stream: s, now: () => T0, bindings: { service: 'bestshot' } });
    const cam = root.child({ camera: 'gate' });
    const stage = cam.child({ stage: 'detect' });
    stage.warn('slow frame', { latencyMs: 41, stage: 'detect2' });
    root.info('root');
    assert.deepEqual(s.json(), [
      { time: T0.toISOString(), level: 'warn', msg: 'slow frame', service: 'bestshot', camera: 'gate', stage: 'detect2', latencyMs: 41 },
      { time: T0.toISOString(), level: 'info', msg: 'root', service: 'bestshot' },
    ]);
  });

  test('credential-like keys are redacted at any depth, in bindings too', () => {
    const s = sink();
    const log = createLogger({ stream: s, now: () => T0, bindings: { apiKey: 'k-1' } });
    log.info('config', {
      upload: { endpoint: 'https://x/', token: 'tok-123', headers: { Authorization: 'Bearer tok-123' } },
      password: 'pw',
      clientSecret: 'cs',
      list: [{ secret: 's' }],
    });
    const text = s.lines.join('');
    for (const leak of ['tok-123', 'pw"', 'cs"', '"s"', 'k-1']) assert.ok(!text.includes(leak), `leaked ${leak}`);
    assert.deepEqual(s.json()[0], {
      time: T0.toISOString(),
      level: 'info',
      msg: 'config',
      apiKey: '[redacted]',
      upload: { endpoint: 'https://x/', token: '[redacted]', headers: { Authorization: '[redacted]' } },
      password: '[redacted]',
      clientSecret: '[redacted]',
      list: [{ secret: '[redacted]' }],
    });
  });

  test('extra redact keys', () => {
    const s = sink();
    createLogger({ stream: s, now: () => T0, redactKeys: ['imsi'] }).info('m', { modemImsi: '262011234' });
    assert.equal(s.json()[0]!.modemImsi, '[redacted]');
  });

  test('errors, bigints, typed arrays and cycles are serialised safely', () => {
    const s = sink();
    const log = createLogger({ stream: s, now: () => T0 });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const err = new ConfigError('cameras[0].id', 'bad', );
    log.error('failed', { err, timestampNs: 1732478400123456789n, pixels: new Uint8Array(12), cyclic });
    const line = s.json()[0]!;
    const e = line.err as Record<string, unknown>;
    assert.equal(e.type, 'ConfigError');
    assert.equal(e.message, 'cameras[0].id: bad');
    assert.equal(e.code, 'ERR_CONFIG');
    assert.match(String(e.stack), /ConfigError: cameras\[0\]\.id: bad/);
    assert.equal(line.timestampNs, '1732478400123456789');
    assert.equal(line.pixels, '[Uint8Array 12 bytes]');
    assert.deepEqual(line.cyclic, { a: 1, self: '[Circular]' });
  });

  test('fields named time/level/msg do not overwrite the record', () => {
    const s = sink();
    createLogger({ stream: s, now: () => T0 }).info('m', { level: 'x', time: 5 });
    assert.deepEqual(s.json()[0], { time: T0.toISOString(), level: 'info', msg: 'm', field_level: 'x', field_time: 5 });
  });

  test("pretty format, and 'auto' picks it on a TTY", (t) => {
    // A zone of its own (Node follows TZ set at run time): the line's offset is this zone's, whatever the machine's.
    const tz = process.env.TZ;
    t.after(() => {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    });
    process.env.TZ = 'Asia/Kolkata';
    const local = new Date(2026, 10, 24, 21, 5, 7, 9);
    assert.equal(
      formatPretty(local, 'warn', 'queue full', { camera: 'gate', dropped: 3, reason: 'max bytes' }, false),
      // Before: the time of day alone, so a log file that spans days could not be read back in order.
      // Then: no offset, so the lines of units in other zones named other instants than they seemed to.
      '2026-11-24 21:05:07.009+05:30 WARN  [gate] queue full dropped=3 reason="max bytes"',
    );
    const tty = sink(true);
    createLogger({ stream: tty, format: 'auto', color: false, now: () => local }).info('hello', { n: 1 });
    assert.equal(tty.lines[0], '2026-11-24 21:05:07.009+05:30 INFO  hello n=1\n');
    const pipe = sink(false);
    createLogger({ stream: pipe, format: 'auto', now: () => local }).info('hello');
    assert.equal(JSON.parse(pipe.lines[0]!).msg, 'hello');
    // The same instant in both formats: the JSON line's UTC time is the pretty line's local time less its offset.
    assert.equal(JSON.parse(pipe.lines[0]!).time, '2026-11-24T15:35:07.009Z');
    // West of UTC, and UTC itself.
    process.env.TZ = 'America/New_York';
    assert.match(formatPretty(new Date(Date.UTC(2026, 10, 24, 15, 35, 7, 9)), 'info', 'm', {}, false), /^2026-11-24 10:35:07\.009-05:00 INFO {2}m$/);
    process.env.TZ = 'UTC';
    assert.match(formatPretty(new Date(Date.UTC(2026, 10, 24, 15, 35, 7, 9)), 'info', 'm', {}, false), /^2026-11-24 15:35:07\.009\+00:00 INFO {2}m$/);
  });

  test('a sink that throws once does not break the caller', () => {
    let calls = 0;
    const lines: string[] = [];
    const log = createLogger({
      stream: {
        write(s: string) {
          calls++;
          if (calls === 1) throw new Error('EPIPE');
          lines.push(s);
        },
      },
    });
    assert.doesNotThrow(() => log.info('x'));
    assert.equal(JSON.parse(lines[0]!).msg, 'log write failed');
  });

  test('bad options are TypeErrors with exact messages', () => {
    assert.throws(() => createLogger({ level: 'loud' as never }), {
      name: 'TypeError',
      message: "Expected one of 'trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent' for level but received 'loud'",
    });
  });

  test('redactFields leaves its input unchanged', () => {
    const input = { token: 't', nested: { ok: 1 } };
    const out = redactFields(input);
    assert.deepEqual(out, { token: '[redacted]', nested: { ok: 1 } });
    assert.deepEqual(input, { token: 't', nested: { ok: 1 } });
  });

  test('passwords inside URLs are masked in any string field', () => {
    const s = sink();
    createLogger({ stream: s, now: () => T0 }).warn('camera failed', {
      source: { url: 'rtsp://admin:hunter2@10.0.0.5:554/s1' },
      detail: 'could not open rtsp://viewer:pw9@cam/x (timeout)',
      plain: 'user@example.com',
    });
    const line = s.json()[0]!;
    assert.deepEqual(line.source, { url: 'rtsp://admin:***@10.0.0.5:554/s1' });
    assert.equal(line.detail, 'could not open rtsp://viewer:***@cam/x (timeout)');
    assert.equal(line.plain, 'user@example.com');
  });

  test('a URL built into the message itself loses its password too (JSON and pretty)', () => {
    for (const format of ['json', 'pretty'] as const) {
      const s = sink();
      createLogger({ stream: s, format, now: () => T0 }).warn('could not open rtsp://admin:hunter2@cam/s1?pwd=pw9');
      assert.match(s.lines.join(''), /could not open rtsp:\/\/admin:\*\*\*@cam\/s1\?pwd=\*\*\*/);
      assert.doesNotMatch(s.lines.join(''), /hunter2|pw9/);
    }
  });

  test('credentials in a URL query (cameras that take the login there, signed URLs) are masked; other parameters kept', () => {
    const s = sink();
    createLogger({ stream: s, now: () => T0 }).warn('camera failed', {
      url: 'rtsp://10.0.0.5/live?user=admin&password=hunter2&channel=1',
      detail: 'GET https://s3.example/b/k.jpg?X-Amz-Date=1&X-Amz-Signature=deadbeef failed',
    });
    const line = s.json()[0]!;
    assert.equal(line.url, 'rtsp://10.0.0.5/live?user=admin&password=***&channel=1');
    assert.equal(line.detail, 'GET https://s3.example/b/k.jpg?X-Amz-Date=1&X-Amz-Signature=*** failed');
  });
});

test('process warnings (a library notice of several lines) become one log record, so a JSON log stays JSON', () => {
  const code = `
    import { createLogger, routeProcessWarnings } from ${JSON.stringify(join(PROJECT_ROOT, 'src', 'log.ts'))};
    routeProcessWarnings(createLogger({ format: 'json' }));
    process.emitWarning('The AWS SDK for JavaScript (v3)\\nversions published after January 2027\\nwill require node >=22.', 'NodeVersionSupportWarning');
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  const rec = JSON.parse(lines[0]!) as { level: string; msg: string; detail: string };
  assert.equal(rec.level, 'warn');
  assert.equal(rec.msg, 'NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)');
  assert.equal(rec.detail, 'versions published after January 2027 will require node >=22.');
});

test('RepeatedLine: an error recurring at every send tick is said once, then once a minute with its count (805 lines in 15 s before)', () => {
  const line = new RepeatedLine(60_000);
  assert.deepEqual(line.admit('disk I/O error', 0), {});
  for (let t = 20; t < 15_000; t += 20) assert.equal(line.admit('disk I/O error', t), undefined);
  // Another message is said at once; the first one's count starts again when it comes back.
  assert.deepEqual(line.admit('database is locked', 15_000), {});
  assert.deepEqual(line.admit('disk I/O error', 15_020), {});
  for (let t = 15_040; t < 75_020; t += 20) line.admit('disk I/O error', t);
  assert.deepEqual(line.admit('disk I/O error', 75_020), { repeatedTimes: 2999, inS: 60 });
});
