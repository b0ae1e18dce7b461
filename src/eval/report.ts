/** Evaluation output: the per-input table (text/markdown) and the SVG chart (docs/evaluation.md). */
import type { EvalReport, PolicyResult } from './evaluate.js';

const f = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
const kib = (b: number | null): string => (b === null ? '—' : `${(b / 1024).toFixed(0)}`);

export const TABLE_COLUMNS = [
  'policy',
  'pkgs',
  'imm',
  'KiB',
  '×fewer',
  'pkg/obj',
  'cov',
  'cov/EF',
  'area',
  'score',
  'edge',
  'sharp',
  'qual',
  'sh/max',
  'of bound',
  'ttfu p50/p90 s',
  'q peak',
  'Δarea vs F',
  'Δqual vs F',
  'sharp vs F',
  'goal',
] as const;

export function tableRow(r: PolicyResult): string[] {
  const v = r.vsFrigate;
  return [
    r.policy,
    String(r.packages),
    String(r.immediate),
    kib(r.bytes),
    `${f(r.reduction, 1)}${r.reductionUnit === 'packages' ? ' (pkgs)' : ''}`,
    f(r.packagesPerObject, 1),
    pct(r.coverage),
    pct(r.coverageOfCoverable),
    f(r.quality.areaRatio),
    f(r.quality.score),
    f(r.quality.edge, 0),
    f(r.quality.sharpness, 0),
    f(r.quality.qualityRatio),
    f(r.quality.sharpVsSharpest),
    pct(r.ofBound),
    `${f(r.timeToFirstUploadS.p50, 1)}/${f(r.timeToFirstUploadS.p90, 1)}`,
    String(r.queue.peakDepth),
    v ? `${v.areaRatioDelta >= 0 ? '+' : ''}${f(v.areaRatioDelta, 3)}` : r.policy === 'frigate' ? 'ref' : '—',
    v ? `${v.qualityDelta >= 0 ? '+' : ''}${f(v.qualityDelta, 3)}` : r.policy === 'frigate' ? 'ref' : '—',
    v ? `${f(v.sharpnessRatio, 2)}×` : r.policy === 'frigate' ? 'ref' : '—',
    r.policy === 'every-frame' ? 'ref' : r.goal.met ? 'MET' : missed(r),
  ];
}

function missed(r: PolicyResult): string {
  const why: string[] = [];
  if (!r.goal.reduction) why.push('bytes');
  if (!r.goal.coverage) why.push('cov');
  if (r.goal.quality === false) why.push('quality');
  return `no (${why.join(',')})`;
}

/** The heading line of an input: what it is, its ground truth and object counts. */
export function describeInput(rep: EvalReport): string {
  const i = rep.input;
  return (
    `${i.name} (${i.kind}, ${i.width}×${i.height}, ${i.frames} frames at ${i.hz} Hz = ${i.durationS.toFixed(1)} s) — ` +
    `GT: ${i.groundTruth}; detections: ${i.detectionSource}; objects ${rep.objects.total} (eligible ${rep.objects.eligible}, coverable ${rep.objects.coverable}); tracks ${rep.tracks}; ` +
    // Both are NaN when no object was matched to a track: '—', as in the tables.
    `${f(rep.fragments.tracksPerObject)} tracks per object, ${f(100 * rep.fragments.splitShare, 0)} % of objects split`
  );
}

/** Fixed-width text table for the terminal. */
export function formatTable(rep: EvalReport): string {
  const rows = [[...TABLE_COLUMNS], ...rep.policies.map(tableRow)];
  const widths = TABLE_COLUMNS.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ');
  return [describeInput(rep), ...rep.input.notes.map((n) => `  note: ${n}`), line(rows[0]!), ...rows.slice(1).map(line), oracleLine(rep)].join('\n');
}

/** Markdown table for docs/evaluation.md. */
export function formatMarkdown(rep: EvalReport): string {
  const head = `| ${TABLE_COLUMNS.join(' | ')} |`;
  const sep = `|${TABLE_COLUMNS.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`;
  const body = rep.policies.map((r) => `| ${tableRow(r).join(' | ')} |`);
  return [`**${describeInput(rep)}**`, '', head, sep, ...body, '', oracleLine(rep)].join('\n');
}

/** Per policy, the coverable objects it lost and why (evaluate.ts LostReason), one line per policy that lost any. */
export function formatLost(rep: EvalReport): string {
  const lines: string[] = [];
  for (const r of rep.policies) {
    const lost = r.objects.filter((o) => o.lost !== null);
    if (lost.length === 0) continue;
    const items = lost.map((o) => {
      const l = o.lost!;
      const where = l.deliveredImageIds.length > 0 ? `, delivered in ${l.deliveredImageIds.join(',')}` : '';
      return `${o.objectId} ${l.kind} (track ${l.trackIds.join(',')}${where})`;
    });
    lines.push(`  lost by ${r.policy} (${lost.length}): ${items.join('; ')}`);
  }
  return lines.join('\n');
}

/** Markdown table: lost coverable objects per policy by reason, summed over the reports. */
export function formatLostPooled(reports: readonly EvalReport[], title: string): string {
  const names = [...new Set(reports.flatMap((r) => r.policies.map((p) => p.policy)))];
  const kinds = ['border', 'other-frames', 'never-sent'] as const;
  const body = names.map((policy) => {
    const objs = reports.flatMap((r) => r.policies.find((p) => p.policy === policy)?.objects ?? []);
    const n = (k: string): number => objs.filter((o) => o.lost?.kind === k).length;
    return `| ${policy} | ${kinds.map(n).join(' | ')} | ${objs.filter((o) => o.lost !== null).length} |`;
  });
  return [`**${title}**`, '', '| policy | border | other frames | never sent | lost |', '|---|---:|---:|---:|---:|', ...body].join('\n');
}

/** The hindsight bound line: how few packages cover every coverable object. */
export function oracleLine(rep: EvalReport): string {
  const o = rep.oracleCover;
  return `  hindsight greedy cover (not a policy): ${o.packages} pkgs${o.bytes === null ? '' : `, ${kib(o.bytes)} KiB`} = ${f(o.reduction, 1)}× fewer than every-frame`;
}

const COLORS: Record<string, string> = {
  spec: '#d62728',
  'replace-queued': '#ff7f0e',
  'shared-best': '#17becf',
  'deadline-cover': '#bcbd22',
  'final-best': '#2ca02c',
  frigate: '#1f77b4',
  'frigate-quality': '#8c564b',
  'every-frame': '#7f7f7f',
  interval: '#9467bd',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Two panels per input row: coverage (cov/EF) and mean best-image area ratio,
 * each against the uplink volume relative to every-frame (log scale: 1 =
 * every frame, 0.05 = the 20× goal line).
 */
export function renderSvg(reports: readonly EvalReport[], title: string): string {
  const panelW = 360;
  const panelH = 200;
  const padL = 50;
  const padT = 30;
  const rowH = panelH + 70;
  const width = Math.max(2 * (panelW + padL) + 40, 1100);
  const height = padT + rows(reports) * rowH + 20;
  const xMin = Math.log10(0.005);
  const xMax = 0;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  // Legend: one colour per policy, the black × is the hindsight cover (not a policy); dashed red lines are the goal (20×, 95 %).
  const legend = [...new Set(reports.flatMap((r) => r.policies.map((p) => p.policy)))];
  let lx = 330;
  for (const name of legend) {
    out.push(`<circle cx="${lx}" cy="14" r="4" fill="${COLORS[name] ?? '#000'}"/><text x="${lx + 7}" y="18">${esc(name)}</text>`);
    lx += 14 + 7 * name.length;
  }
  out.push(`<text x="${lx}" y="18">× hindsight cover   - - goal</text>`);
  reports.forEach((rep, row) => {
    const y0 = padT + row * rowH + 20;
    out.push(`<text x="10" y="${y0 - 4}" font-weight="bold">${esc(`${rep.input.name} (GT ${rep.input.groundTruth})`)}</text>`);
    const panels: Array<{ label: string; value: (r: PolicyResult) => number; max: number }> = [
      { label: 'coverage of coverable objects', value: (r) => r.coverageOfCoverable, max: 1 },
      { label: 'mean best-image area ratio', value: (r) => r.quality.areaRatio, max: 1 },
    ];
    panels.forEach((p, k) => {
      const x0 = padL + k * (panelW + padL);
      const X = (v: number): number => x0 + ((Math.log10(Math.max(v, 0.005)) - xMin) / (xMax - xMin)) * panelW;
      const Y = (v: number): number => y0 + panelH - (Math.max(0, Math.min(p.max, v)) / p.max) * panelH;
      out.push(`<rect x="${x0}" y="${y0}" width="${panelW}" height="${panelH}" fill="none" stroke="#999"/>`);
      for (const t of [0.01, 0.05, 0.1, 0.5, 1]) {
        out.push(`<line x1="${X(t)}" y1="${y0}" x2="${X(t)}" y2="${y0 + panelH}" stroke="${t === 0.05 ? '#d62728' : '#eee'}" stroke-dasharray="${t === 0.05 ? '4 3' : ''}"/>`);
        out.push(`<text x="${X(t)}" y="${y0 + panelH + 14}" text-anchor="middle">${t}</text>`);
      }
      for (const t of [0, 0.25, 0.5, 0.75, 1]) {
        out.push(`<text x="${x0 - 6}" y="${Y(t * p.max) + 4}" text-anchor="end">${(t * p.max).toFixed(2)}</text>`);
      }
      if (k === 0) out.push(`<line x1="${x0}" y1="${Y(0.95)}" x2="${x0 + panelW}" y2="${Y(0.95)}" stroke="#d62728" stroke-dasharray="4 3"/>`);
      out.push(`<text x="${x0 + panelW / 2}" y="${y0 + panelH + 30}" text-anchor="middle">${rep.policies[0]?.reductionUnit ?? 'bytes'} relative to every-frame (log)</text>`);
      out.push(`<text x="${x0 + 4}" y="${y0 + 12}">${esc(p.label)}</text>`);
      rep.policies.forEach((r, i) => {
        const v = p.value(r);
        if (!Number.isFinite(v) || !(r.reduction > 0)) return;
        const cx = X(1 / r.reduction);
        const cy = Y(v);
        const c = COLORS[r.policy] ?? '#000';
        out.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${5 - (i % 3)}" fill="${c}" fill-opacity="0.85"><title>${esc(`${r.policy}: ${f(r.reduction, 1)}× fewer, ${p.label} ${f(v, 3)}`)}</title></circle>`);
      });
      const o = rep.oracleCover;
      if (k === 0 && o.reduction > 0 && Number.isFinite(o.reduction)) {
        const cx = X(1 / o.reduction);
        const cy = Y(1);
        out.push(`<path d="M${cx - 4},${cy - 4}L${cx + 4},${cy + 4}M${cx - 4},${cy + 4}L${cx + 4},${cy - 4}" stroke="black" stroke-width="1.5"><title>hindsight greedy cover: ${f(o.reduction, 1)}× fewer</title></path>`);
      }
    });
  });
  out.push('</svg>');
  return out.join('\n');
}

function rows(reports: readonly EvalReport[]): number {
  return Math.max(1, reports.length);
}

/** One policy pooled over several inputs. */
export interface PooledRow {
  policy: string;
  inputs: number;
  packages: number;
  bytes: number | null;
  /** Σ every-frame over Σ this policy (bytes when every input has images, else packages). */
  reduction: number;
  /** Σ covered / Σ coverable. */
  coverageOfCoverable: number;
  /** Σ covered / Σ eligible. */
  coverage: number;
  /** Mean over inputs of the paired area-ratio delta against frigate (inputs where both cover an object). */
  areaDeltaVsFrigate: number;
  /** Mean over inputs of the paired quality-ratio delta against frigate. */
  qualityDeltaVsFrigate: number;
  /** Mean over covered objects (all inputs) of the quality ratio and of sharpness vs the sharpest view. */
  qualityRatio: number;
  sharpVsSharpest: number;
  /** Pooled reduction over the pooled hindsight cover's (Σ every-frame / Σ cover). */
  ofBound: number;
  /** Σ packages / Σ ground-truth objects, beside the tracks per object of the same inputs. */
  packagesPerObject: number;
  tracksPerObject: number;
  /** By upload.content mode (every input with crop sizes): Σ every-frame bytes / Σ mode bytes, Σ crop-covered / Σ coverable, mean area and quality ratio. */
  content: Record<
    'crops' | 'frame+crops',
    { bytes: number; reduction: number; coverageOfCoverable: number; areaRatio: number; qualityRatio: number; areaDeltaVsFrigate: number; qualityDeltaVsFrigate: number }
  > | null;
  /** Inputs on which the goal is met. */
  goalMet: number;
}

/** Pool per-policy results over inputs (e.g. all clips and the sim, which have bytes). */
export function poolReports(reports: readonly EvalReport[]): PooledRow[] {
  const names = [...new Set(reports.flatMap((r) => r.policies.map((p) => p.policy)))];
  const withBytes = reports.every((r) => r.policies.every((p) => p.bytes !== null));
  const efTotal = reports.reduce((a, r) => {
    const ef = r.policies.find((p) => p.policy === 'every-frame')!;
    return a + (withBytes ? ef.bytes! : ef.packages);
  }, 0);
  const oracleTotal = reports.reduce((a, r) => a + (withBytes ? r.oracleCover.bytes! : r.oracleCover.packages), 0);
  const objectsTotal = reports.reduce((a, r) => a + r.objects.total, 0);
  const tracksTotal = reports.reduce((a, r) => a + r.tracks, 0);
  const coverable = reports.reduce((a, r) => a + r.objects.coverable, 0);
  const eligible = reports.reduce((a, r) => a + r.objects.eligible, 0);
  return names.map((policy) => {
    const rows = reports.map((r) => r.policies.find((p) => p.policy === policy)).filter((p): p is PolicyResult => p !== undefined);
    const packages = rows.reduce((a, p) => a + p.packages, 0);
    const bytes = withBytes ? rows.reduce((a, p) => a + p.bytes!, 0) : null;
    const covered = rows.reduce((a, p) => a + p.covered, 0);
    const deltas = rows.map((p) => p.vsFrigate?.areaRatioDelta ?? NaN).filter(Number.isFinite);
    const qDeltas = rows.map((p) => p.vsFrigate?.qualityDelta ?? NaN).filter(Number.isFinite);
    const objs = rows.flatMap((p) => p.objects);
    const avg = (v: number[]): number => {
      const x = v.filter(Number.isFinite);
      return x.length ? x.reduce((a, b) => a + b, 0) / x.length : NaN;
    };
    const reduction = efTotal / (withBytes ? bytes! : packages);
    return {
      policy,
      inputs: rows.length,
      packages,
      bytes,
      reduction,
      coverageOfCoverable: coverable > 0 ? covered / coverable : NaN,
      coverage: eligible > 0 ? covered / eligible : NaN,
      areaDeltaVsFrigate: deltas.length ? deltas.reduce((a, b) => a + b, 0) / deltas.length : NaN,
      qualityDeltaVsFrigate: avg(qDeltas),
      qualityRatio: avg(objs.map((o) => o.qualityRatio ?? NaN)),
      sharpVsSharpest: avg(objs.map((o) => o.sharpVsSharpest ?? NaN)),
      ofBound: reduction / (efTotal / oracleTotal),
      packagesPerObject: objectsTotal > 0 ? packages / objectsTotal : NaN,
      tracksPerObject: objectsTotal > 0 ? tracksTotal / objectsTotal : NaN,
      content: rows.every((p) => p.content !== null) && withBytes ? poolContent(rows, efTotal, coverable) : null,
      goalMet: rows.filter((p) => p.goal.met).length,
    };
  });
}

function poolContent(rows: readonly PolicyResult[], efTotal: number, coverable: number): NonNullable<PooledRow['content']> {
  const one = (mode: 'crops' | 'frame+crops') => {
    const bytes = rows.reduce((a, p) => a + p.content![mode].bytes, 0);
    const covered = rows.reduce((a, p) => a + p.content![mode].covered, 0);
    const w = (k: 'areaRatio' | 'qualityRatio'): number => {
      const n = rows.reduce((a, p) => a + (Number.isFinite(p.content![mode][k]) ? p.content![mode].covered : 0), 0);
      return n > 0 ? rows.reduce((a, p) => a + (Number.isFinite(p.content![mode][k]) ? p.content![mode][k] * p.content![mode].covered : 0), 0) / n : NaN;
    };
    // Mean over inputs of the paired deltas, as the frame table's.
    const d = (k: 'areaRatioDelta' | 'qualityDelta'): number => {
      const x = rows.map((p) => p.content![mode].vsFrigate?.[k] ?? NaN).filter(Number.isFinite);
      return x.length ? x.reduce((a, b) => a + b, 0) / x.length : NaN;
    };
    return {
      bytes,
      reduction: efTotal / bytes,
      coverageOfCoverable: coverable > 0 ? covered / coverable : NaN,
      areaRatio: w('areaRatio'),
      qualityRatio: w('qualityRatio'),
      areaDeltaVsFrigate: d('areaRatioDelta'),
      qualityDeltaVsFrigate: d('qualityDelta'),
    };
  };
  return { crops: one('crops'), 'frame+crops': one('frame+crops') };
}

/** Markdown table of the pooled rows by upload.content mode. */
export function formatPooledContent(rows: readonly PooledRow[], title: string): string {
  const head =
    '| policy | frame KiB | frame ×fewer | crops KiB | crops ×fewer | crops cov/EF | crops area | crops qual | crops Δarea vs frigate | crops Δqual vs frigate | frame+crops KiB | frame+crops ×fewer |';
  const sep = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const body = rows
    .filter((r) => r.content !== null)
    .map((r) => {
      const c = r.content!.crops;
      const fc = r.content!['frame+crops'];
      return `| ${r.policy} | ${kib(r.bytes)} | ${f(r.reduction, 1)} | ${kib(c.bytes)} | ${f(c.reduction, 1)} | ${pct(c.coverageOfCoverable)} | ${f(c.areaRatio)} | ${f(c.qualityRatio)} | ${f(c.areaDeltaVsFrigate, 3)} | ${f(c.qualityDeltaVsFrigate, 3)} | ${kib(fc.bytes)} | ${f(fc.reduction, 1)} |`;
    });
  return [`**${title}**`, '', head, sep, ...body].join('\n');
}

/** Markdown table of pooled rows. */
export function formatPooled(rows: readonly PooledRow[], title: string): string {
  const head = '| policy | inputs | pkgs | KiB | ×fewer | of bound | cov | cov/EF | qual | sh/max | pkg/obj | trk/obj | mean Δarea vs frigate | mean Δqual vs frigate | goal met on |';
  const sep = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const body = rows.map(
    (r) =>
      `| ${r.policy} | ${r.inputs} | ${r.packages} | ${kib(r.bytes)} | ${f(r.reduction, 1)}${r.bytes === null ? ' (pkgs)' : ''} | ${pct(r.ofBound)} | ${pct(r.coverage)} | ${pct(r.coverageOfCoverable)} | ${f(r.qualityRatio)} | ${f(r.sharpVsSharpest)} | ${f(r.packagesPerObject)} | ${f(r.tracksPerObject)} | ${r.policy === 'frigate' ? 'ref' : f(r.areaDeltaVsFrigate, 3)} | ${r.policy === 'frigate' ? 'ref' : f(r.qualityDeltaVsFrigate, 3)} | ${r.policy === 'every-frame' ? 'ref' : `${r.goalMet}/${r.inputs}`} |`,
  );
  return [`**${title}**`, '', head, sep, ...body].join('\n');
}

/**
 * The half/half split, fixed before any result is seen: the inputs sorted by
 * name, half A at even positions (0, 2, …), half B at odd ones. Parameters
 * are the policies' fixed defaults (never tuned per input), so both halves
 * are held-out reports of the same rule.
 */
export function splitHalves<T extends { input: { name: string } }>(reports: readonly T[]): { a: T[]; b: T[] } {
  const sorted = [...reports].sort((x, y) => x.input.name.localeCompare(y.input.name));
  return { a: sorted.filter((_, i) => i % 2 === 0), b: sorted.filter((_, i) => i % 2 === 1) };
}
