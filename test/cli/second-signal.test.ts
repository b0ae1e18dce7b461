/**
 * A second SIGTERM to `bestshot receiver` and `bestshot ingest` while they stop (GNU timeout sends
 * two; systemd's stop after a kill). Their handlers went with the first signal, and the second one,
 * during the close or Node's teardown, had its default action: the process killed by SIGTERM
 * (receiver: 7 of 9 tries 2–18 ms after the first; ingest: 10 of 10 at 2–25 ms), not ending with a
 * code. Now a second signal while it stops exits at once with exit 1, saying so; after the stop, the
 * command's own code. The receiver's store holds only whole packages all the same: uploads are in
 * flight when the signals come. Races: a few tries at moments the kill was seen in.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeMultipart } from '../../src/upload/index.js';
import { listPackages, makeJpeg, makePackage, spawnReceiver, waitFor } from '../upload/helpers.js';
import { type CliExit, spawnCli } from '../helpers/spawn-cli.js';

const TOKEN = 'second-signal-token';

/** A package folder is whole: its metadata parses and names the image it holds, byte for byte. */
function wholePackage(dir: string): string | undefined {
  const meta = join(dir, 'metadata.json');
  if (!existsSync(meta)) return 'no metadata.json';
  const m = JSON.parse(readFileSync(meta, 'utf8')) as { image: { bytes: number; sha256: string } };
  const image = join(dir, 'image.jpg');
  if (!existsSync(image)) return 'no image.jpg';
  const jpeg = readFileSync(image);
  if (jpeg.length !== m.image.bytes || createHash('sha256').update(jpeg).digest('hex') !== m.image.sha256) return `image.jpg of ${jpeg.length} bytes, not the metadata's ${m.image.bytes}`;
  return undefined;
}

test('two SIGTERMs to the receiver with uploads in flight: exit 0, or 1 saying so, never killed by the signal; only whole packages stored', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-receiver-sigterm2-'));
  try {
    const jpegs = await Promise.all([0, 1, 2, 3].map((s) => makeJpeg(s, 640, 480)));
    const outcomes: string[] = [];
    const torn: string[] = [];
    for (const gapMs of [2, 8, 14]) {
      const store = join(dir, `store-${gapMs}`);
      process.env.BESTSHOT_RECEIVER_TOKEN = TOKEN;
      const rcv = await spawnReceiver(['--dir', store, '--port', '0', '--quiet']);
      delete process.env.BESTSHOT_RECEIVER_TOKEN;
      const exited = new Promise<CliExit>((r) => rcv.proc.once('exit', (code, signal) => r([code, signal])));
      // Four uploaders, each posting its next package as soon as the last is answered.
      let stored = 0;
      const answers: number[] = [];
      let stopping = false;
      const uploader = async (lane: number): Promise<void> => {
        for (let id = lane; !stopping; id += 4) {
          const pkg = makePackage(`cam-${gapMs}`, id, jpegs[lane]!);
          const { contentType, body } = encodeMultipart(pkg);
          try {
            const res = await fetch(`${rcv.url}/packages`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey }, body });
            if (res.status !== 201) answers.push(res.status);
            if (res.status === 201) stored++;
            await res.arrayBuffer();
          } catch {
            return; // the receiver went away mid-upload
          }
        }
      };
      const lanes = [0, 1, 2, 3].map(uploader);
      await waitFor(() => stored >= 8, 20_000, `8 packages stored (other answers: ${answers.join(' ')}): ${rcv.output()}`);
      rcv.proc.kill('SIGTERM');
      setTimeout(() => rcv.proc.kill('SIGTERM'), gapMs);
      const [code, signal] = await exited;
      stopping = true;
      await Promise.all(lanes);
      const said = /receiver: SIGTERM while stopping \(on SIGTERM\): exiting now, exit 1/.test(rcv.output());
      outcomes.push(`${gapMs} ms: ${signal ?? code}${code === 1 && !said ? ' (unsaid)' : ''}`);
      // Every published package whole; a store the exit cut short left only a temporary folder, which the next start removes.
      const packages = join(store, 'packages');
      for (const name of readdirSync(packages)) {
        if (/\.tmp-[0-9a-f]{12}$/.test(name)) continue;
        const why = wholePackage(join(packages, name));
        if (why) torn.push(`${gapMs} ms: ${name}: ${why}`);
      }
      process.env.BESTSHOT_RECEIVER_TOKEN = TOKEN;
      const again = await spawnReceiver(['--dir', store, '--port', '0', '--quiet']);
      delete process.env.BESTSHOT_RECEIVER_TOKEN;
      try {
        assert.deepEqual(readdirSync(packages).filter((n) => n.includes('.tmp-')), [], 'temporary folders left after a start');
        for (const p of await listPackages(again.url, TOKEN)) {
          const why = wholePackage(join(packages, encodeURIComponent(p.key)));
          if (why) torn.push(`${gapMs} ms: listed ${p.key}: ${why}`);
        }
      } finally {
        await again.stop();
      }
    }
    assert.deepEqual(torn, []);
    assert.ok(
      outcomes.every((o) => / (0|1)$/.test(o)),
      outcomes.join(', '),
    );
  } finally {
    delete process.env.BESTSHOT_RECEIVER_TOKEN;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two SIGTERMs to ingest while it waits for its broker: exit 0 with the stats line, or 1 saying so, never killed by the signal', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-ingest-sigterm2-'));
  try {
    const outcomes: string[] = [];
    for (const gapMs of [6, 10, 14]) {
      // Nothing listens on port 1: ingest says it waits for the broker, and stops from there.
      const { child, output, closed } = spawnCli(['ingest', '--broker', 'mqtt://127.0.0.1:1', '--index', join(dir, `index-${gapMs}.sqlite`)]);
      while (!output().stderr.includes('waiting for the broker')) await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGTERM'), gapMs);
      const [code, signal] = await closed;
      const { stdout, stderr } = output();
      const ok = (code === 0 && /^\{"received":0,/m.test(stdout)) || (code === 1 && /ingest: SIGTERM while stopping \(on SIGTERM\): exiting now, exit 1/.test(stderr));
      outcomes.push(`${gapMs} ms: ${signal ?? code}${ok || signal !== null ? '' : ` (${stdout}${stderr})`}`);
    }
    assert.ok(
      outcomes.every((o) => / (0|1)$/.test(o)),
      outcomes.join(', '),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
