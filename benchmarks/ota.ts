/**
 * npm run bench -- ota [--runs N] [--no-heavy]: cost of the deploy
 * scripts on this machine.
 *  - small: a 4-file release — the fixed cost of an update (verify, unpack,
 *    self-check, switch, restart of a node stand-in service, health wait).
 *  - heavy: the same release plus this checkout's node_modules (~3000 files,
 *    ~370 MB, the size of a real release): package.sh, ota-update.sh apply
 *    (signature + payload hash + every file's hash) and --verify.
 * Prints percentiles in ms; writes benchmarks/results/ota.json.
 */
import { cpSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeApp, makeUnit, PACKAGE, REPO, run } from '../test/ota/harness.js';
import { benchArgs, benchNumber, fmt, machine, summary, writeResult } from './util.js';

const USAGE = `npm run bench -- ota [--runs N] [--no-heavy]
  --runs N    updates timed per case (default 5)
  --no-heavy  skip the release with this checkout's node_modules
Writes benchmarks/results/ota.json.`;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e6, r];
}

function line(label: string, ms: number[]): void {
  const s = summary(ms);
  console.log(`${label.padEnd(34)} n=${s.n}  p50 ${fmt(s.p50, 0)} ms  p90 ${fmt(s.p90, 0)} ms  max ${fmt(s.max, 0)} ms`);
}

export default async function (args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, { runs: { type: 'string' }, 'no-heavy': { type: 'boolean', default: false } });
  const runs = benchNumber('positive integer', '--runs', values.runs, 5);
  const u = await makeUnit('bench');
  const result: Record<string, unknown> = { machine: machine(), runs };
  try {
    const small: number[] = [];
    for (let i = 1; i <= runs; i++) {
      const b = await u.pack(`1.${i}.0`);
      const [ms, r] = await timed(() => u.ota([b]));
      if (r.code !== 0) throw new Error(r.stderr);
      small.push(ms);
    }
    line('small release: update end to end', small);
    result.smallUpdateMs = summary(small);

    if (!values['no-heavy']) {
      const pack: number[] = [];
      const apply: number[] = [];
      const verify: number[] = [];
      let bytes = 0;
      let files = 0;
      for (let i = 1; i <= Math.min(runs, 3); i++) {
        const version = `2.${i}.0`;
        const app = makeApp(u.dir, version);
        cpSync(join(REPO, 'node_modules'), join(app, 'node_modules'), { recursive: true, verbatimSymlinks: true });
        rmSync(join(app, 'node_modules/.bin'), { recursive: true, force: true });
        const out = join(u.dir, `heavy-${i}`);
        const [pm, p] = await timed(() => run(PACKAGE, ['--version', version, '--target', 'linux-x64', '--source', app, '--key', u.keys.key, '--out', out]));
        if (p.code !== 0) throw new Error(p.stderr);
        pack.push(pm);
        const bundle = p.stdout.trim();
        bytes = statSync(bundle).size;
        files = Number(/packed (\d+) files/.exec(p.stderr)?.[1] ?? 0);
        rmSync(app, { recursive: true, force: true });
        const [am, a] = await timed(() => u.ota([bundle, '--keep', '2']));
        if (a.code !== 0) throw new Error(a.stderr);
        apply.push(am);
        const [vm, v] = await timed(() => u.ota(['--verify', version]));
        if (v.code !== 0) throw new Error(v.stderr);
        verify.push(vm);
        rmSync(out, { recursive: true, force: true });
      }
      console.log(`heavy release: ${files} files, bundle ${fmt(bytes / 2 ** 20, 1)} MiB`);
      line('heavy: package.sh', pack);
      line('heavy: ota-update.sh apply', apply);
      line('heavy: ota-update.sh --verify', verify);
      Object.assign(result, { heavyFiles: files, heavyBundleBytes: bytes, packageMs: summary(pack), applyMs: summary(apply), verifyMs: summary(verify) });
    }
  } finally {
    u.stop();
  }
  console.log(`wrote ${writeResult('ota', result)}`);
}
