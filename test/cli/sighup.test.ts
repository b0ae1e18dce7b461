/**
 * SIGHUP (the terminal a command was started from closed; `kill -HUP` by an
 * operator) to the long-running commands besides `bestshot run`: the receiver
 * and ingest stop as on SIGTERM, as `run` does (test/cli/run-as-user.test.ts),
 * saying so in one line. Before: SIGHUP's default action, exit 129, ingest's
 * final stats unsaid. Real processes, a real signal.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths.js';
import { freePort } from '../helpers/net.js';

const BIN = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const dir = mkdtempSync(join(tmpdir(), 'bestshot-sighup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Start `bestshot <args>`, send SIGHUP once `ready` is on stdout or stderr, and wait for the exit. */
function hangUpOn(args: string[], ready: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  let sent = false;
  const check = (): void => {
    if (!sent && (out.stdout + out.stderr).includes(ready)) {
      sent = true;
      child.kill('SIGHUP');
    }
  };
  child.stdout.on('data', (c: Buffer) => {
    out.stdout += c.toString();
    check();
  });
  child.stderr.on('data', (c: Buffer) => {
    out.stderr += c.toString();
    check();
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, ...out })));
}

const SAID = 'SIGHUP (the terminal closed, or kill -HUP): stopping as on SIGTERM; there is nothing to reload (restart it to apply a change)\n';

test('bestshot receiver on SIGHUP: stops as on SIGTERM (exit 0), saying so in one line', { timeout: 60_000 }, async () => {
  const r = await hangUpOn(['receiver', '--dir', join(dir, 'receiver'), '--port', '0'], 'receiver listening on');
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr.endsWith(`receiver: ${SAID}`), r.stderr);
});

test('bestshot ingest on SIGHUP: stops as on SIGTERM (exit 0, its stats line), saying so in one line', { timeout: 60_000 }, async () => {
  const port = await freePort(); // nothing listens: ingest waits for the broker
  const r = await hangUpOn(['ingest', '--broker', `mqtt://127.0.0.1:${port}`, '--index', join(dir, 'ingest.sqlite'), '--connections', '1', '--verify', 'none'], 'ingest: waiting for the broker');
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr.includes(`ingest: ${SAID}`), r.stderr);
  assert.match(r.stdout, /^\{"received":/m);
});
