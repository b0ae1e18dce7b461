// ota-update.sh given a URL (docs/deploy.md): curl download into the OTA state dir,
// resumed with a Range request after an interruption, refused over --max-size.
// A real node HTTP server on 127.0.0.1 serves the bundle with byte ranges.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeUnit, type Unit } from './harness.js';

const units: Unit[] = [];
let server: Server;
let base = '';
const files = new Map<string, Buffer>();
const requests: Array<{ path: string; range: string | undefined }> = [];

before(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push({ path, range: req.headers.range });
    const body = files.get(path);
    if (!body) return void res.writeHead(404).end('not found');
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      const start = Number(m[1]);
      if (start >= body.length) return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      return void res.end(body.subarray(start));
    }
    // /chunked/ paths announce no size: curl cannot refuse them up front.
    res.writeHead(200, path.startsWith('/chunked/') ? {} : { 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
after(() => {
  server.close();
  units.forEach((u) => u.stop());
});

const partFor = (u: Unit, url: string): string =>
  join(u.root, 'var/lib/bestshot/ota/downloads', `${createHash('sha256').update(url).digest('hex').slice(0, 16)}.part`);

describe('ota-update.sh: download', () => {
  it('downloads and applies a bundle from a URL, leaving no download behind', async () => {
    const u = await makeUnit('url');
    units.push(u);
    files.set('/b/1.1.0.tar', readFileSync(await u.pack('1.1.0')));
    const r = await u.ota([`${base}/b/1.1.0.tar`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(u.current(), '1.1.0');
    assert.equal((await u.health())?.version, '1.1.0');
    assert.deepEqual(readdirSync(join(u.root, 'var/lib/bestshot/ota/downloads')), []);
  });

  it('resumes an interrupted download with a Range request', async () => {
    const u = await makeUnit('resume');
    units.push(u);
    const body = readFileSync(await u.pack('1.1.0'));
    files.set('/b/resume.tar', body);
    const url = `${base}/b/resume.tar`;
    const part = partFor(u, url);
    mkdirSync(join(part, '..'), { recursive: true });
    const half = Math.floor(body.length / 2);
    writeFileSync(part, body.subarray(0, half));
    requests.length = 0;
    const r = await u.ota([url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^ota-update: resuming the download at ${half} bytes\n`));
    assert.deepEqual(requests, [{ path: '/b/resume.tar', range: `bytes=${half}-` }]);
    assert.equal(u.current(), '1.1.0');
    assert.equal(existsSync(part), false);
  });

  it('refuses a download larger than --max-size and keeps nothing of it', async () => {
    const u = await makeUnit('maxsize');
    units.push(u);
    files.set('/b/big.tar', readFileSync(await u.pack('1.1.0')));
    const url = `${base}/b/big.tar`;
    const r = await u.ota([url, '--max-size', '1000']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'curl: (63) Maximum file size exceeded\nota-update: download exceeds --max-size 1000 bytes\n');
    assert.equal(existsSync(partFor(u, url)), false);
    // Without a Content-Length the size is checked once the body is in.
    files.set('/chunked/big.tar', files.get('/b/big.tar')!);
    const chunked = `${base}/chunked/big.tar`;
    const c = await u.ota([chunked, '--max-size', '1000']);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /ota-update: download exceeds --max-size 1000 bytes\n$/);
    assert.equal(existsSync(partFor(u, chunked)), false);
    assert.equal(u.current(), '1.0.0');
  });

  it('reports an HTTP error with curl status and HTTP code', async () => {
    const u = await makeUnit('http404');
    units.push(u);
    const r = await u.ota([`${base}/b/missing.tar`]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `ota-update: download of ${base}/b/missing.tar failed (curl exit 0, HTTP 404)\n`);
    assert.equal(u.current(), '1.0.0');
  });
});
