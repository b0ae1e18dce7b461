/**
 * `bestshot receiver` logs a line per request outcome. Refusals are anyone's
 * to cause — no token needed for a 401 — and each was a line: a client
 * looping on keep-alive wrote thousands a second into the log of a receiver
 * that must never go down. Now 20 a minute are logged one by one and the rest
 * summed up in one line. A real receiver process, real HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnReceiver, waitFor } from '../upload/helpers.js';

test('a flood of refused requests: 20 lines, then one line with the count by status; the receiver keeps answering', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-rcv-logs-'));
  try {
    const rcv = await spawnReceiver(['--port', '0', '--dir', join(dir, 'rcv'), '--token', 'right']);
    try {
      for (let i = 0; i < 150; i++) {
        const res = await fetch(`${rcv.url}/packages`, { method: i % 3 === 0 ? 'GET' : 'POST', headers: { authorization: 'Bearer wrong' }, body: i % 3 === 0 ? undefined : 'x' });
        await res.arrayBuffer();
        assert.equal(res.status, 401);
      }
      assert.equal((await fetch(`${rcv.url}/healthz`)).status, 200);
    } finally {
      await rcv.stop();
    }
    // The summary is said at the stop; its bytes may come through the pipe after the exit.
    await waitFor(() => rcv.output().includes('refused requests'), 5000, 'the summary line');
    const lines = rcv.output().split('\n');
    assert.equal(lines.filter((l) => / 401 missing or wrong bearer token$/.test(l)).length, 20, rcv.output());
    assert.deepEqual(
      lines.filter((l) => l.includes('refused requests')),
      ['130 more refused requests not logged one by one in the last minute, by status: {"401":130}'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
