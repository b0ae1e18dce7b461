/**
 * A5 camera position: a REAL gpsd fed by gpsfake (Debian packages gpsd and
 * gpsd-clients) replaying an NMEA log; positions attached to frames must match
 * the log, and the loss of fix at the log's end must be reported.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { test } from 'node:test';
import { FixedPosition } from '../../src/capture/position/fixed.js';
import { GpsdPosition, interpolateHeading, parseGpsdTime, type NoFixReason } from '../../src/capture/position/gpsd.js';
import type { PositionState } from '../../src/capture/position/types.js';
import { freePort } from '../helpers/net.js';

const FIXTURE = new URL('./fixtures/gnss-drive.nmea', import.meta.url).pathname;
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/usr/bin`;
const haveGpsfake = spawnSync('sh', ['-c', 'command -v gpsfake && command -v gpsd'], { env: { ...process.env, PATH } }).status === 0;

interface Truth {
  timeNs: bigint;
  lat: number;
  lon: number;
  alt: number;
  heading: number;
}

/** The log's own fixes, parsed independently of gpsd: RMC (time, lat, lon, course) + GGA (altitude + geoid = HAE). */
function truthFromLog(): Truth[] {
  const out: Truth[] = [];
  const deg = (v: string, hemi: string, w: number): number => (Number(v.slice(0, w)) + Number(v.slice(w)) / 60) * (hemi === 'S' || hemi === 'W' ? -1 : 1);
  for (const line of readFileSync(FIXTURE, 'utf8').split(/\r?\n/)) {
    const f = line.split('*')[0]!.split(',');
    if (f[0] === '$GPRMC' && f[2] === 'A') {
      const [hh, mm, ss] = [f[1]!.slice(0, 2), f[1]!.slice(2, 4), f[1]!.slice(4)];
      const d = f[9]!;
      const ms = Date.parse(`20${d.slice(4, 6)}-${d.slice(2, 4)}-${d.slice(0, 2)}T${hh}:${mm}:${ss.padStart(5, '0')}Z`);
      out.push({ timeNs: BigInt(ms) * 1_000_000n, lat: deg(f[3]!, f[4]!, 2), lon: deg(f[5]!, f[6]!, 3), alt: NaN, heading: Number(f[8]) });
    } else if (f[0] === '$GPGGA' && f[6] !== '0') {
      out.at(-1)!.alt = Number(f[9]) + Number(f[11]);
    }
  }
  return out;
}


function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const iv = setInterval(() => {
      if (pred()) {
        clearInterval(iv);
        resolve();
      } else if (Date.now() - t0 > timeoutMs) {
        clearInterval(iv);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 20);
  });
}

test('gpsd + gpsfake: frame positions match the NMEA log (interpolated), loss of fix reported', { skip: !haveGpsfake && 'gpsfake/gpsd not installed (apt-get install gpsd gpsd-clients)' }, async () => {
  const port = await freePort();
  // -1: play the log once; -c 0.05: 50 ms per sentence; -q: quiet.
  const fake: ChildProcess = spawn('gpsfake', ['-P', String(port), '-q', '-1', '-c', '0.05', FIXTURE], { env: { ...process.env, PATH }, stdio: 'ignore' });
  const gps = new GpsdPosition({ port, reconnectMs: 100, staleAfterMs: 5000 });
  const states: [PositionState, NoFixReason | null][] = [];
  gps.on('state', (s, r) => states.push([s, r]));
  try {
    await waitFor(() => gps.state === 'no-fix', 25_000, "state 'no-fix'");
    assert.deepEqual(states, [
      ['fix', null],
      ['no-fix', 'mode'],
    ]);
    const truth = truthFromLog();
    const fixes = gps.fixes();
    assert.ok(fixes.length >= 10, `${fixes.length} fixes received`);
    // Every fix gpsd reported is a fix of the log, with the same numbers.
    for (const f of fixes) {
      const t = truth.find((x) => x.timeNs === f.timeNs);
      assert.ok(t, `fix at ${f.timeNs} is in the log`);
      assert.ok(Math.abs(f.lat - t.lat) < 1e-8 && Math.abs(f.lon - t.lon) < 1e-8, 'lat/lon');
      assert.ok(Math.abs(f.alt - t.alt) < 1e-6, `alt ${f.alt} vs ${t.alt}`);
      assert.ok(Math.abs(f.heading - t.heading) < 1e-6, 'heading');
      assert.equal(f.mode, 3);
    }
    // Frames between fixes: a 10 Hz camera over the received span.
    const first = fixes[0]!.timeNs;
    const last = fixes.at(-1)!.timeNs;
    let checked = 0;
    let wrapChecked = false;
    for (let t = first; t < last; t += 100_000_000n) {
      const p = gps.positionAt(t);
      assert.ok(p, `position at ${t}`);
      const i = truth.findIndex((x) => x.timeNs > t) - 1;
      const a = truth[i]!;
      const b = truth[i + 1]!;
      const f = Number(t - a.timeNs) / Number(b.timeNs - a.timeNs);
      assert.ok(Math.abs(p.lat - (a.lat + (b.lat - a.lat) * f)) < 1e-8, `lat at ${t}`);
      assert.ok(Math.abs(p.lon - (a.lon + (b.lon - a.lon) * f)) < 1e-8, `lon at ${t}`);
      assert.ok(Math.abs(p.alt - (a.alt + (b.alt - a.alt) * f)) < 1e-6, `alt at ${t}`);
      const hd = Math.abs(((p.heading - interpolateHeading(a.heading, b.heading, f) + 540) % 360) - 180);
      assert.ok(hd < 1e-6, `heading at ${t}`);
      if (a.heading > 350 && b.heading < 10) {
        // Across north the heading goes the short way (358° → 0°), never through 180°.
        assert.ok(p.heading >= 358 - 1e-9 || p.heading <= 1e-9, `heading ${p.heading} across north`);
        wrapChecked = true;
      }
      checked++;
    }
    assert.ok(checked >= 100);
    const atLast = gps.positionAt(last)!;
    assert.ok(Math.abs(atLast.lat - truth.find((x) => x.timeNs === last)!.lat) < 1e-8, 'at the last fix itself');
    assert.ok(wrapChecked, 'the log crosses north within the received fixes');
    // After the loss of fix there is no position; before the first fix neither.
    assert.equal(gps.positionAt(last + 500_000_000n), null);
    assert.equal(gps.positionAt(last + 3_000_000_000n), null);
    assert.equal(gps.positionAt(first - 1n), null);
    assert.equal(gps.stats().state, 'no-fix');
    assert.ok(gps.stats().noFixReports >= 1);
  } finally {
    gps.close();
    fake.kill('SIGTERM');
  }
});

/** A minimal gpsd stand-in on real TCP: answers ?WATCH with the given lines, then stays silent. */
async function jsonServer(lines: string[]): Promise<{ server: Server; port: number; watches: string[] }> {
  const watches: string[] = [];
  const server = createServer((sock) => {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      watches.push(d);
      for (const l of lines) sock.write(`${l}\n`);
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, watches };
}

test("gpsd client: silence for staleAfterMs → 'no-fix' (stale); extrapolation only while the fix is current", async () => {
  const now = Date.now();
  const iso = (ms: number): string => new Date(ms).toISOString();
  const { server, port, watches } = await jsonServer([
    JSON.stringify({ class: 'VERSION', release: '3.22' }),
    JSON.stringify({ class: 'TPV', mode: 3, time: iso(now - 1000), lat: 10, lon: 20, altHAE: 100, track: 90, speed: 10 }),
    JSON.stringify({ class: 'TPV', mode: 3, time: iso(now), lat: 10.001, lon: 20, altHAE: 101, track: 90, speed: 10 }),
  ]);
  const gps = new GpsdPosition({ port, staleAfterMs: 300, reconnectMs: 50 });
  const states: [PositionState, NoFixReason | null][] = [];
  gps.on('state', (s, r) => states.push([s, r]));
  try {
    await waitFor(() => gps.state === 'fix', 5000, 'fix');
    assert.equal(watches[0], '?WATCH={"enable":true,"json":true}\n');
    const t = BigInt(now) * 1_000_000n;
    // Half a second past the newest fix: extrapolated along the last velocity.
    const p = gps.positionAt(t + 500_000_000n)!;
    assert.ok(Math.abs(p.lat - 10.0015) < 1e-9 && p.heading === 90 && Math.abs(p.alt - 101.5) < 1e-9);
    assert.equal(gps.positionAt(t + 2_000_000_000n), null, 'beyond maxExtrapolationMs');
    await waitFor(() => gps.state === 'no-fix', 5000, 'stale');
    assert.deepEqual(states, [
      ['fix', null],
      ['no-fix', 'stale'],
    ]);
    assert.equal(gps.positionAt(t + 100_000_000n), null, 'no extrapolation once the fix is lost');
    const mid = gps.positionAt(t - 500_000_000n)!;
    assert.ok(Math.abs(mid.lat - 10.0005) < 1e-9 && mid.lon === 20 && Math.abs(mid.alt - 100.5) < 1e-9 && mid.heading === 90, 'interpolated between the fixes');
  } finally {
    gps.close();
    server.close();
  }
});

test('position helpers and errors', () => {
  assert.equal(parseGpsdTime('2026-11-24T12:00:17.000Z'), BigInt(Date.parse('2026-11-24T12:00:17Z')) * 1_000_000n);
  assert.equal(parseGpsdTime('2026-11-24T12:00:17.123456789Z') % 1_000_000_000n, 123_456_789n);
  assert.throws(() => parseGpsdTime('yesterday'), { name: 'GnssError', message: "Unparseable gpsd time 'yesterday'" });
  assert.equal(interpolateHeading(350, 10, 0.5), 0);
  assert.equal(interpolateHeading(10, 350, 0.25), 5);
  assert.equal(interpolateHeading(100, 260, 0.5), 180);
  const fixed = new FixedPosition({ lat: 48.1, lon: 11.5 });
  assert.deepEqual(fixed.positionAt(0n), { lat: 48.1, lon: 11.5, alt: 0, heading: 0 });
  assert.equal(fixed.state, 'fixed');
  assert.throws(() => new FixedPosition({ lat: 95, lon: 0 }), { name: 'RangeError', message: 'Expected number between -90 and 90 for position.lat but received 95 of type number' });
  assert.throws(() => new GpsdPosition({ port: 70000 }), { name: 'RangeError', message: 'Expected integer between 1 and 65535 for port but received 70000 of type number' });
});
