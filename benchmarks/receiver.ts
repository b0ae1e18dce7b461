/**
 * The reference receiver under load: `npm run bench -- receiver [uploads=1000] [concurrency=200]`.
 * Starts a receiver in a child process (its own event loop and RSS), POSTs
 * `uploads` distinct packages with `concurrency` in flight, prints
 * throughput and latency percentiles and the receiver's peak RSS.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeMultipart } from '../src/upload/index.js';
import { makeJpeg, makePackage } from '../test/upload/helpers.js';
import { benchArgs, benchNumber, percentile, writeResult } from './util.js';

const USAGE = `npm run bench -- receiver [uploads] [concurrency]
  uploads      distinct packages POSTed (default 1000)
  concurrency  uploads in flight (default 200)
Writes benchmarks/results/receiver.json.`;

const CHILD = fileURLToPath(new URL('./receiver-child.ts', import.meta.url));

export default async function bench(args: string[]): Promise<void> {
  const { positionals: p } = benchArgs(args, USAGE, {}, ['uploads', 'concurrency']);
  const uploads = benchNumber('positive integer', 'uploads', p[0], 1000);
  const concurrency = benchNumber('positive integer', 'concurrency', p[1], 200);
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-bench-receiver-'));
  const child = fork(CHILD, [dir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [ready] = (await once(child, 'message')) as [{ url: string }];
  const jpeg = await makeJpeg(3, 640, 480);
  const bodies = Array.from({ length: uploads }, (_, i) => {
    const pkg = makePackage('bench', i + 1, jpeg);
    return { pkg, ...encodeMultipart(pkg) };
  });
  let next = 0;
  const latencies: number[] = [];
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const b = bodies[next++]!;
        const s = performance.now();
        const res = await fetch(`${ready.url}/packages`, {
          method: 'POST',
          headers: { authorization: 'Bearer bench', 'content-type': b.contentType, 'idempotency-key': b.pkg.idempotencyKey },
          body: b.body,
        });
        await res.arrayBuffer();
        if (res.status !== 201) failed++;
        latencies.push(performance.now() - s);
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  child.send('rss');
  const [rss] = (await once(child, 'message')) as [{ peakRssMiB: number }];
  child.kill();
  rmSync(dir, { recursive: true, force: true });
  const result = {
    uploads,
    concurrency,
    failed,
    imageBytes: jpeg.length,
    uploadsPerS: Math.round((uploads / wallS) * 10) / 10,
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    peakRssMiB: rss.peakRssMiB,
  };
  console.log(
    `receiver: ${uploads} uploads, ${concurrency} concurrent, ${jpeg.length} B JPEG: ${result.uploadsPerS}/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, peak RSS ${result.peakRssMiB} MiB, ${failed} not 201`,
  );
  writeResult('receiver', result);
}
