/**
 * npm run bench -- all [--quick]
 *
 * Runs capture, detect, track, pipeline and cameras one after another (each
 * prints its own figures and writes its own JSON), then prints one summary
 * table: every figure beside its goal (README, docs/performance.md)
 * and its peer measured in the same run (the ceiling or bare loop it is a
 * ratio of, or the one-camera run a four-camera figure is compared with).
 * The table and the figures go to benchmarks/results/all.json.
 *
 * `--quick`: 10 s per multi-camera run and only 1 and 4 cameras (the
 * summary then has no 2-camera rows). On a shared machine expect a spread of
 * ±5–10 % on ratios and far more on p99 (each run records the load average).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchArgs, fmt, machine, resultsDir, writeResult } from './util.js';

const USAGE = `npm run bench -- all [--quick]
  --quick  10 s per multi-camera run and only 1 and 4 cameras
Runs capture, detect, track, pipeline and cameras; writes their results and benchmarks/results/all.json.`;

interface Row {
  stage: string;
  figure: string;
  value: number;
  unit: string;
  goal: string;
  met: boolean | null;
  peer: string;
}

function read(name: string): Record<string, any> {
  // Where the benches just wrote them (--results DIR included), not the committed files.
  return JSON.parse(readFileSync(join(resultsDir(), `${name}.json`), 'utf8')) as Record<string, any>;
}

async function run(name: string, args: string[]): Promise<void> {
  console.log(`\n===== npm run bench -- ${name} ${args.join(' ')} =====`);
  const mod = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<void> };
  await mod.default(args);
}

export function summaryRows(r: { capture: any; detect: any; track: any; pipeline: any; cameras: any }): Row[] {
  const rows: Row[] = [];
  const c = r.capture;
  // A row's own ceiling runs (paired with its pulls) where the capture benchmark wrote them; else the run's.
  const ceiling = (format: 'BGR' | 'I420', x: { ceilingFps?: number; ratios?: number[] }): string =>
    x.ceilingFps !== undefined
      ? `gst-launch ceiling, decode to ${format}, ${fmt(x.ceilingFps, 1)} frames/s (median of the ${x.ratios?.length ?? 0} runs paired with the pulls; ratio = median of the pairs')`
      : `gst-launch ceiling, decode to ${format}, ${fmt(format === 'I420' ? c.ceilingI420Fps : c.ceilingFps, 1)} frames/s`;
  for (const [key, label, goal, format] of [
    ['BGR frames, 8 reused pixel slots', 'BGR only, 8 slots', 0.95, 'BGR'],
    ['BGR + 416x416 tensor, 8 pixel slots', 'BGR + tensor, 8 slots', 0.95, 'BGR'],
    ['I420 + 416x416 tensor, 8 pixel slots', 'I420 + tensor, 8 slots (the runtime)', 0.95, 'I420'],
  ] as const) {
    const x = c.results[key];
    if (x) rows.push({ stage: 'capture 1280×720', figure: `${label}: ${fmt(x.nodeFps, 1)} frames/s, ratio`, value: x.ratio, unit: '×', goal: `≥ ${goal}`, met: x.ratio >= goal, peer: ceiling(format, x) });
  }
  for (const t of ['threads1', 'threads2'] as const) {
    const d = r.detect[t];
    if (!d) continue;
    const ratio = d.stage.p50 / d.inference.p50;
    rows.push({
      stage: 'detect',
      figure: `stage p50 / session.run p50, ${t === 'threads1' ? '1 thread' : '2 threads'}`,
      value: ratio,
      unit: '×',
      goal: '≤ 1.15',
      met: ratio <= 1.15,
      peer: `session.run p50 ${fmt(d.inference.p50, 2)} ms, stage p50 ${fmt(d.stage.p50, 2)} ms`,
    });
  }
  const t50 = r.track.results['50'];
  const min3 = r.track.results['50-min3'];
  rows.push({
    stage: 'track',
    figure: 'update() p99, 50 objects',
    value: t50.p99,
    unit: 'ms',
    goal: '< 1',
    met: t50.p99 < 1,
    peer: `p50 ${fmt(t50.p50, 3)} ms${min3 ? `; per-frame minimum of 3 replays p99 ${fmt(min3.p99, 3)} ms` : ''}`,
  });
  for (const [clip, x] of Object.entries(r.pipeline).filter(([k]) => k.includes('('))) {
    const v = x as any;
    const size = /\((\d+x\d+)\)/.exec(clip)?.[1] ?? clip;
    rows.push({
      stage: `pipeline ${size}`,
      figure: 'sustained / bare detector loop',
      value: v.sustainedOverBare,
      unit: '×',
      goal: '≥ 0.9',
      met: v.sustainedOverBare >= 0.9,
      peer: `bare ${fmt(v.bareDetectorFps, 1)} frames/s, pipeline ${fmt(v.sustained.fps, 1)} frames/s`,
    });
    rows.push({
      stage: `pipeline ${size}`,
      figure: `live 10 Hz end-to-end p99 (${v.live10Hz.dropped} dropped)`,
      value: v.live10Hz.latency.endToEnd.p99,
      unit: 'ms',
      goal: '< 100, 0 dropped',
      met: v.live10Hz.latency.endToEnd.p99 < 100 && v.live10Hz.dropped === 0,
      peer: `detect p99 ${fmt(v.live10Hz.latency.detect.p99, 1)} ms`,
    });
  }
  const cams = r.cameras.rows as any[];
  for (const size of [...new Set(cams.map((x) => x.size))]) {
    const one = cams.find((x) => x.size === size && x.cameras === 1);
    for (const x of cams.filter((y) => y.size === size)) {
      const peer = one && x !== one ? `1 camera: RSS ${fmt(one.rssMiB, 0)} MiB, p99 ${fmt(one.worstP99Ms, 1)} ms` : `CPU ${fmt(x.cores, 2)} cores`;
      const load = `load ${x.loadAvg1?.join('→') ?? '?'}`;
      if (x.cameras === 1 || x.cameras === 4) {
        const goal = x.cameras === 1 ? 300 : 600;
        rows.push({ stage: `${x.cameras} camera(s) ${size}`, figure: 'RSS at 10 Hz each', value: x.rssMiB, unit: 'MiB', goal: `≤ ${goal}`, met: x.rssMiB <= goal, peer: `${peer}; ${load}` });
      } else {
        rows.push({ stage: `${x.cameras} cameras ${size}`, figure: 'RSS at 10 Hz each', value: x.rssMiB, unit: 'MiB', goal: '—', met: null, peer: `${peer}; ${load}` });
      }
      rows.push({
        stage: `${x.cameras} camera(s) ${size}`,
        figure: `worst camera end-to-end p99 (${x.dropped} dropped)`,
        value: x.worstP99Ms,
        unit: 'ms',
        goal: x.cameras === 4 ? '< 150, 0 dropped' : '—',
        met: x.cameras === 4 ? x.worstP99Ms < 150 && x.dropped === 0 : null,
        peer: `CPU ${fmt(x.cores, 2)} cores, detect p99 ${fmt(x.stages?.detectP99Ms ?? NaN, 1)} ms; ${load}`,
      });
    }
  }
  return rows;
}

export function renderTable(rows: Row[]): string {
  const lines = ['| stage | figure | value | goal | met | same-run peer |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    const v = r.unit === '×' ? fmt(r.value, 3) : fmt(r.value, r.value < 10 ? 2 : 0);
    lines.push(`| ${r.stage} | ${r.figure} | ${v} ${r.unit} | ${r.goal} | ${r.met === null ? '' : r.met ? 'yes' : '**no**'} | ${r.peer} |`);
  }
  return lines.join('\n');
}

export default async function main(args: string[]): Promise<void> {
  const quick = benchArgs(args, USAGE, { quick: { type: 'boolean' } }).values.quick === true;
  const t0 = performance.now();
  await run('capture', []);
  await run('detect', []);
  await run('track', []);
  await run('pipeline', []);
  await run('cameras', quick ? ['--seconds', '10', '--counts', '1,4'] : []);
  const figures = { capture: read('capture'), detect: read('detect'), track: read('track'), pipeline: read('pipeline'), cameras: read('cameras') };
  const rows = summaryRows(figures);
  console.log(`\n===== summary (${machine()}; ${fmt((performance.now() - t0) / 60000, 1)} min) =====\n`);
  console.log(renderTable(rows));
  console.log(`\nwritten ${writeResult('all', { quick, rows, figures })}`);
}
