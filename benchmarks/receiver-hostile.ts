/**
 * The reference receiver under attack: `npm run bench -- receiver-hostile [seconds=70] [attackers=8]`.
 * A receiver with its defaults (32 MiB body limit, 60 s request timeout) in a
 * child process; `attackers` never-ending chunked uploads push 64 KiB chunks
 * as fast as the socket takes them, as many more drip one byte a second,
 * while one honest client posts a package every 100 ms. Prints the
 * receiver's RSS (before, peak, after), how long each attack lasted and how
 * many bytes it got in, and the honest uploads' latency percentiles.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeMultipart } from '../src/upload/index.js';
import { makeJpeg, makePackage } from '../test/upload/helpers.js';
import { benchArgs, benchNumber, percentile, writeResult } from './util.js';

const USAGE = `npm run bench -- receiver-hostile [seconds] [attackers]
  seconds    length of the attack (default 70)
  attackers  never-ending chunked floods, and as many 1 B/s drips (default 8)
Writes benchmarks/results/receiver-hostile.json.`;

const CHILD = fileURLToPath(new URL('./receiver-child.ts', import.meta.url));

interface Attack {
  kind: 'flood' | 'drip';
  bytes: number;
  endedMs: number | null;
  status: number | null;
}

function attack(port: number, kind: Attack['kind'], untilMs: number): Promise<Attack> {
  return new Promise((resolve) => {
    const a: Attack = { kind, bytes: 0, endedMs: null, status: null };
    const t0 = performance.now();
    const sock = connect(port, '127.0.0.1');
    let reply = '';
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      clearTimeout(stop);
      if (timer) clearInterval(timer);
      a.endedMs ??= Math.round(performance.now() - t0);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(reply);
      a.status = m ? Number(m[1]) : null;
      sock.destroy();
      resolve(a);
    };
    sock.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    sock.on('close', end);
    sock.on('error', end);
    const stop = setTimeout(() => {
      if (done) return;
      done = true; // still open when the run ended: endedMs stays null
      if (timer) clearInterval(timer);
      sock.destroy();
      resolve(a);
    }, untilMs);
    stop.unref();
    sock.on('connect', () => {
      sock.write(
        'POST /packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench\r\nContent-Type: multipart/form-data; boundary=B\r\nIdempotency-Key: attack:1\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      if (kind === 'flood') {
        const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 0x41), Buffer.from('\r\n')]);
        const push = (): void => {
          while (!sock.destroyed && sock.write(chunk)) a.bytes += 0x10000;
          if (!sock.destroyed) a.bytes += 0x10000;
        };
        sock.on('drain', push);
        push();
      } else {
        timer = setInterval(() => {
          if (!sock.destroyed) {
            sock.write('1\r\nA\r\n');
            a.bytes++;
          }
        }, 1000);
      }
    });
  });
}

export default async function bench(args: string[]): Promise<void> {
  const { positionals: p } = benchArgs(args, USAGE, {}, ['seconds', 'attackers']);
  const seconds = benchNumber('positive number', 'seconds', p[0], 70);
  const attackers = benchNumber('non-negative integer', 'attackers', p[1], 8);
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-bench-hostile-'));
  const child = fork(CHILD, [dir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [ready] = (await once(child, 'message')) as [{ url: string }];
  const port = Number(new URL(ready.url).port);
  const rss = async (): Promise<{ rssMiB: number; peakRssMiB: number }> => {
    child.send('rss');
    const [r] = (await once(child, 'message')) as [{ rssMiB: number; peakRssMiB: number }];
    return r;
  };
  const jpeg = await makeJpeg(3, 640, 480);
  // Warm the receiver up with honest traffic first, so "before" is a working process.
  const post = async (i: number): Promise<{ ms: number; status: number }> => {
    const pkg = makePackage('honest', i, jpeg);
    const { contentType, body } = encodeMultipart(pkg);
    const s = performance.now();
    const res = await fetch(`${ready.url}/packages`, {
      method: 'POST',
      headers: { authorization: 'Bearer bench', 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey },
      body,
    });
    await res.arrayBuffer();
    return { ms: performance.now() - s, status: res.status };
  };
  for (let i = 1; i <= 50; i++) await post(i);
  const before = await rss();
  const untilMs = seconds * 1000;
  const attacks = [
    ...Array.from({ length: attackers }, () => attack(port, 'flood', untilMs)),
    ...Array.from({ length: attackers }, () => attack(port, 'drip', untilMs)),
  ];
  const honest: number[] = [];
  let honestFailed = 0;
  let i = 1000;
  const t0 = performance.now();
  while (performance.now() - t0 < untilMs) {
    const r = await post(i++);
    honest.push(r.ms);
    if (r.status !== 201) honestFailed++;
    await new Promise((res) => setTimeout(res, 100));
  }
  const results = await Promise.all(attacks);
  const after = await rss();
  child.kill();
  rmSync(dir, { recursive: true, force: true });
  const summary = (kind: Attack['kind']) => {
    const of = results.filter((r) => r.kind === kind);
    const ended = of.filter((r) => r.endedMs !== null).map((r) => r.endedMs!);
    return {
      count: of.length,
      cut: ended.length,
      cutAfterMsMax: ended.length ? Math.max(...ended) : null,
      statuses: [...new Set(of.map((r) => r.status))],
      bytesMaxMiB: Math.round((Math.max(...of.map((r) => r.bytes)) / 1048576) * 10) / 10,
    };
  };
  const result = {
    seconds,
    attackers,
    rssBeforeMiB: before.rssMiB,
    rssPeakMiB: after.peakRssMiB,
    rssAfterMiB: after.rssMiB,
    flood: summary('flood'),
    drip: summary('drip'),
    honestUploads: honest.length,
    honestFailed,
    honestP50Ms: Math.round(percentile(honest, 50)),
    honestP99Ms: Math.round(percentile(honest, 99)),
  };
  console.log(
    `receiver under attack, ${seconds} s: ${attackers} chunked floods cut ${result.flood.cut}/${attackers} (last after ${result.flood.cutAfterMsMax} ms, statuses ${result.flood.statuses.join(',')}, at most ${result.flood.bytesMaxMiB} MiB pushed each); ` +
      `${attackers} 1 B/s drips cut ${result.drip.cut}/${attackers} (last after ${result.drip.cutAfterMsMax} ms); ` +
      `RSS ${result.rssBeforeMiB} MiB before, peak ${result.rssPeakMiB}, after ${result.rssAfterMiB}; ` +
      `honest uploads ${result.honestUploads} (${honestFailed} not 201), p50 ${result.honestP50Ms} ms, p99 ${result.honestP99Ms} ms`,
  );
  writeResult('receiver-hostile', result);
}
