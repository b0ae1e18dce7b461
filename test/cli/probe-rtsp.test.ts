/**
 * `bestshot probe rtsp://…` against RTSP servers that refuse, as a user meets
 * them: the real CLI as a subprocess, the real rtspsrc, and a loopback RTSP
 * stand-in that answers every request with one status (or never answers).
 * GStreamer alone says "Not found", "Unauthorized" or "Could not read from
 * resource." — no camera, no fix; the run's retry lines repeated them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');

/** A loopback server that answers each RTSP request with `status` (undefined: takes the connection, answers nothing). */
async function rtspStandIn(status?: string, headers = ''): Promise<{ port: number; close: () => void }> {
  const sockets: Socket[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d: Buffer) => {
      if (status === undefined) return;
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const cseq = /CSeq:\s*(\d+)/i.exec(buf.slice(0, end))?.[1] ?? '0';
        buf = buf.slice(end + 4);
        // 'HTTP': a web server on the port the URL names.
        sock.write(status === 'HTTP' ? 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n' : `RTSP/1.0 ${status}\r\nCSeq: ${cseq}\r\n${headers}Content-Length: 0\r\n\r\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function probe(url: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'probe', url, '--frames', '1'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const hard = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(hard);
      resolve({ code, stderr: stderr.trim() });
    });
  });
}

test('an RTSP server that answers 404 or 401, never answers, or is a web server, and a host name that does not resolve: probe names the camera, the cause and the fix (exit 1)', { timeout: 120_000 }, async () => {
  const notFound = await rtspStandIn('404 Not Found');
  const login = await rtspStandIn('401 Unauthorized', 'WWW-Authenticate: Basic realm="cam"\r\n');
  const silent = await rtspStandIn();
  const web = await rtspStandIn('HTTP');
  try {
    const [a, b, c, d, e] = await Promise.all([
      probe(`rtsp://127.0.0.1:${notFound.port}/stream9`),
      probe(`rtsp://admin:wrong@127.0.0.1:${login.port}/stream1?token=abc`),
      probe(`rtsp://127.0.0.1:${silent.port}/stream1`),
      probe(`rtsp://127.0.0.1:${web.port}/stream1`),
      // .invalid never resolves (RFC 6761): GStreamer says the same as for a refused connection.
      probe('rtsp://camera.invalid/stream1'),
    ]);
    assert.equal(d.code, 1, d.stderr);
    assert.match(
      d.stderr.split('\n').at(-1)!,
      new RegExp(`^bestshot probe: \\[ERR_CAPTURE\\] RTSP camera at 127\\.0\\.0\\.1:${web.port} answered, but not in RTSP: check that the URL's port is the camera's RTSP port \\(554 unless it says otherwise\\), not its web page's \\(.+ from rtspsrc\\d+\\)$`),
    );
    assert.equal(e.code, 1, e.stderr);
    assert.match(e.stderr.split('\n').at(-1)!, /^bestshot probe: \[ERR_CAPTURE_SOURCE_NOT_FOUND\] RTSP camera at camera\.invalid:554 cannot be reached \(connection refused, or the name camera\.invalid does not resolve\): /);
    assert.equal(a.code, 1, a.stderr);
    assert.match(
      a.stderr.split('\n').at(-1)!,
      new RegExp(`^bestshot probe: \\[ERR_CAPTURE_SOURCE_NOT_FOUND\\] RTSP camera at 127\\.0\\.0\\.1:${notFound.port} has no stream at /stream9 \\(404 Not Found\\): check the URL's path \\(the camera's manual names its stream paths\\) \\(.+ from rtspsrc\\d+\\)$`),
    );
    assert.equal(b.code, 1, b.stderr);
    assert.match(
      b.stderr.split('\n').at(-1)!,
      new RegExp(`^bestshot probe: \\[ERR_CAPTURE\\] RTSP camera at 127\\.0\\.0\\.1:${login.port} refused the login \\(401 Unauthorized\\): check the user and password in the URL \\(rtsp://user:password@host/path\\) \\(.+ from rtspsrc\\d+\\)$`),
    );
    // The password and the query are not repeated.
    assert.doesNotMatch(b.stderr, /wrong|token=abc/);
    // rtspsrc gives up after its 20 s tcp-timeout; probe waits longer for an RTSP source so that this is what it says.
    assert.equal(c.code, 1, c.stderr);
    assert.match(
      c.stderr.split('\n').at(-1)!,
      new RegExp(`^bestshot probe: \\[ERR_CAPTURE\\] RTSP camera at 127\\.0\\.0\\.1:${silent.port} does not answer \\(it took the connection but sent no reply in time\\): check that the URL's port is the camera's RTSP port and that the camera is not hung \\(.+ from rtspsrc\\d+\\)$`),
    );
  } finally {
    notFound.close();
    login.close();
    silent.close();
    web.close();
  }
});

test('probe prints its pipeline without the camera password (in the URL or its query): only the log-safe rtsp://user:***@ form', { timeout: 60_000 }, () => {
  // Port 1 on loopback: nothing listens, rtspsrc is refused at once; the pipeline line comes before that.
  const r = spawnSync(process.execPath, [CLI, 'probe', 'rtsp://admin:hunter2@127.0.0.1:1/stream?password=pw77&channel=1', '--frames', '1'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' },
    encoding: 'utf8',
    timeout: 50_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^pipeline: rtspsrc location="rtsp:\/\/admin:\*\*\*@127\.0\.0\.1:1\/stream\?password=\*\*\*&channel=1" /m);
  assert.doesNotMatch(r.stdout + r.stderr, /hunter2|pw77/);
});

test('a camera URL new URL() refuses (a mistyped port) or that has no host is a usage error (exit 2), as the config refuses it, the password masked', { timeout: 60_000 }, () => {
  for (const [url, expected] of [
    ['rtsp://admin:hunter2@127.0.0.1:99999/stream', "Expected rtsp or rtsps URL (rtsp://<host>[:<port>]/<path>) for uri but received 'rtsp://admin:***@127.0.0.1:99999/stream' of type string"],
    ['rtsp://admin:hunter2@/stream', "Expected rtsp or rtsps URL with a host (rtsp://<host>[:<port>]/<path>) for uri but received 'rtsp://admin:***@/stream' of type string"],
  ] as const) {
    const r = spawnSync(process.execPath, [CLI, 'probe', url, '--frames', '1'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' },
      encoding: 'utf8',
      timeout: 50_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim(), `bestshot probe: [ERR_USAGE] ${expected}`);
    assert.doesNotMatch(r.stdout + r.stderr, /hunter2/);
  }
});
