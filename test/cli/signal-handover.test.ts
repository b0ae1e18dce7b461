/**
 * `bestshot run` hands its signals from the start-phase handler (exit at once,
 * locks released) to the run's (a graceful stop). A SIGTERM that arrived in
 * the synchronous end of the start, before the hand-over, was lost: removing
 * the last listener first stopped Node's watcher of the signal, and the run
 * went on deaf to it (seen as a run that ignored the supervisor's SIGTERM
 * sent as 'running' was said). The hand-over (src/cli/signals.ts) adds the
 * new listener before removing the old. A real process and a real signal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

test('a SIGTERM pending while the handlers are handed over reaches the new handler', { timeout: 60_000 }, () => {
  const code = `
    import { handOverSignals } from ${JSON.stringify(join(PROJECT_ROOT, 'src', 'cli', 'signals.ts'))};
    const starting = () => console.log('start-phase handler');
    process.on('SIGTERM', starting);
    setTimeout(() => {
      // The signal arrives now and waits for the next turn of the event loop; the hand-over happens first.
      process.kill(process.pid, 'SIGTERM');
      const until = Date.now() + 50;
      while (Date.now() < until) {}
      handOverSignals(['SIGTERM', 'SIGINT', 'SIGHUP'], starting, (sig) => {
        console.log('run handler ' + sig);
        process.exit(0);
      });
      setTimeout(() => {
        console.log('lost');
        process.exit(3);
      }, 2000);
    }, 50);
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.stdout.trim(), 'run handler SIGTERM', r.stderr);
  assert.equal(r.status, 0);
});
