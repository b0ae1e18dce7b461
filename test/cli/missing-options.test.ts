/**
 * A command started without an input or output it needs says first which
 * one, then its usage, exit 2 (as `receiver` says a missing --dir). The
 * usage text alone used to be all that `check-config` with no file,
 * `eval-mot` without --res and `track` without --out printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' } });

test('check-config with no file, eval-mot without --res, track without --out: a first line naming what is missing, then the usage, exit 2', { timeout: 60_000 }, () => {
  const cases: Array<[string[], string, string]> = [
    [['check-config'], 'bestshot check-config: a config file is required (give it as the argument or with --config)', 'Usage: bestshot check-config [--config] <file> [options]'],
    [['check-config', '-q'], 'bestshot check-config: a config file is required (give it as the argument or with --config)', 'Usage: bestshot check-config [--config] <file> [options]'],
    [['check-config', 'a.yaml', 'b.yaml'], "bestshot check-config: one config file at a time: unexpected 'b.yaml'", 'Usage: bestshot check-config [--config] <file> [options]'],
    [['eval-mot', '--gt', 'gt.txt'], 'bestshot eval-mot: --res is required', 'Usage: bestshot eval-mot --gt <gt.txt> --res <result.txt> [--benchmark MOT15|MOT17] [--frames N] [--json]'],
    [['eval-mot', '--res', 'res.txt'], 'bestshot eval-mot: --gt is required', 'Usage: bestshot eval-mot --gt <gt.txt> --res <result.txt> [--benchmark MOT15|MOT17] [--frames N] [--json]'],
    [['eval-mot'], 'bestshot eval-mot: --gt and --res are required', 'Usage: bestshot eval-mot --gt <gt.txt> --res <result.txt> [--benchmark MOT15|MOT17] [--frames N] [--json]'],
    [['track', '--mot', 'seq'], 'bestshot track: --out is required', 'Usage: bestshot track --mot <sequence dir> --out <result.txt> [options]'],
    [['track', '--out', 'res.txt'], 'bestshot track: --mot is required', 'Usage: bestshot track --mot <sequence dir> --out <result.txt> [options]'],
  ];
  for (const [args, first, usage] of cases) {
    const r = cli(args);
    assert.equal(r.status, 2, args.join(' '));
    const lines = r.stderr.split('\n');
    assert.equal(lines[0], first, args.join(' '));
    assert.equal(lines[1], '', args.join(' '));
    assert.equal(lines[2], usage, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
  }
});
