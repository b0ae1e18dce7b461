/**
 * The HTML report of a run: a gallery of the best shot per object (box and
 * score drawn over the uploaded JPEG) and a timeline of uploads. One
 * self-contained page plus an images/ folder next to it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrackEntry } from '../types.js';

export interface ReportUpload {
  idempotencyKey: string;
  cameraId: string;
  imageId: number;
  route: 'immediate' | 'cached';
  timestampNs: bigint;
  bytes: number;
  width: number;
  height: number;
  selectedTrackIds: number[];
  tracks: Array<{ trackId: number; entry: TrackEntry }>;
  jpeg: Uint8Array;
}

export interface ReportSummary {
  title: string;
  source: string;
  cameraId: string;
  policy: string;
  framesCaptured: number;
  framesProcessed: number;
  framesDropped: number;
  objectsTracked: number;
  packagesImmediate: number;
  packagesCached: number;
  bytesSent: number;
  /** Bytes had every processed frame been sent (see `everyFrameMethod`). */
  bytesEveryFrame: number;
  everyFrameMethod: string;
  delivered: number;
  latencyMs: { p50: number; p99: number };
  durationS: number;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const kb = (b: number): string => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} kB`);
const COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#469990', '#9a6324'];

function boxSvg(entry: TrackEntry, color: string, label: string, viewSize: number): string {
  const b = entry.box;
  const font = Math.max(8, viewSize / 14);
  return `<g transform="rotate(${(-b.angle * 180) / Math.PI} ${b.cx} ${b.cy})"><rect x="${b.cx - b.w / 2}" y="${b.cy - b.h / 2}" width="${b.w}" height="${b.h}" fill="none" stroke="${color}" stroke-width="${Math.max(1, viewSize / 100).toFixed(1)}"/></g><text x="${b.cx - b.w / 2}" y="${Math.max(font, b.cy - b.h / 2 - 4)}" fill="${color}" font-size="${font.toFixed(1)}" font-family="sans-serif" stroke="#000" stroke-width="${(font / 30).toFixed(2)}">${esc(label)}</text>`;
}

/** Write report.html (and images/) into `dir`; returns the page's path. */
export function writeReport(dir: string, summary: ReportSummary, uploads: ReportUpload[]): string {
  mkdirSync(join(dir, 'images'), { recursive: true });
  const imageFile = new Map<string, string>();
  for (const u of uploads) {
    const name = `images/${u.idempotencyKey.replace(/[^A-Za-z0-9_-]/g, '_')}.jpg`;
    writeFileSync(join(dir, name), u.jpeg);
    imageFile.set(u.idempotencyKey, name);
  }
  // Best shot per object = the last upload that object selected (each
  // selection replaces the object's previous best, S4/S7).
  const best = new Map<number, ReportUpload>();
  const count = new Map<number, number>();
  for (const u of uploads) {
    for (const id of u.selectedTrackIds) {
      best.set(id, u);
      count.set(id, (count.get(id) ?? 0) + 1);
    }
  }
  const cards = [...best.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([trackId, u]) => {
      const e = u.tracks.find((t) => t.trackId === trackId)?.entry;
      if (!e) return '';
      const color = COLORS[trackId % COLORS.length]!;
      const pad = Math.max(e.box.w, e.box.h) * 0.6 + 20;
      const vx = Math.max(0, e.box.cx - pad);
      const vy = Math.max(0, e.box.cy - pad);
      const vw = Math.min(u.width - vx, pad * 2);
      const vh = Math.min(u.height - vy, pad * 2);
      const label = `#${trackId} ${e.box.label} ${e.box.score.toFixed(2)}`;
      return `<figure class="card"><svg viewBox="${vx} ${vy} ${vw} ${vh}" preserveAspectRatio="xMidYMid meet"><image href="${imageFile.get(u.idempotencyKey)}" width="${u.width}" height="${u.height}"/>${boxSvg(e, color, label, Math.max(vw, vh))}</svg>
<figcaption><b>#${trackId}</b> ${esc(e.box.label)} · score ${e.box.score.toFixed(2)} · ${Math.round(e.box.w)}×${Math.round(e.box.h)} px · ${u.route} · image ${u.imageId} · ${count.get(trackId)} upload${count.get(trackId) === 1 ? '' : 's'}</figcaption></figure>`;
    })
    .join('\n');

  // Timeline: x = time, one row per object, a mark per upload it selected.
  const t0 = uploads.length ? uploads.reduce((m, u) => (u.timestampNs < m ? u.timestampNs : m), uploads[0]!.timestampNs) : 0n;
  const t1 = uploads.length ? uploads.reduce((m, u) => (u.timestampNs > m ? u.timestampNs : m), uploads[0]!.timestampNs) : 1n;
  const span = Math.max(1e-9, Number(t1 - t0) / 1e9);
  const ids = [...best.keys()].sort((a, b) => a - b);
  const row = new Map(ids.map((id, i) => [id, i]));
  const W = 900;
  const rowH = 12;
  const H = Math.max(40, ids.length * rowH + 30);
  const marks = uploads
    .flatMap((u) =>
      u.selectedTrackIds.map((id) => {
        const x = 40 + ((Number(u.timestampNs - t0) / 1e9) / span) * (W - 60);
        const y = 10 + (row.get(id) ?? 0) * rowH;
        const fill = u.route === 'immediate' ? '#2a9d8f' : '#e9c46a';
        return `<rect x="${x - 3}" y="${y}" width="6" height="${rowH - 3}" fill="${fill}"><title>#${id} image ${u.imageId} ${u.route} ${kb(u.bytes)}</title></rect>`;
      }),
    )
    .join('');
  const axis = Array.from({ length: 6 }, (_, i) => {
    const x = 40 + (i / 5) * (W - 60);
    return `<text x="${x}" y="${H - 4}" font-size="11" text-anchor="middle">${((i / 5) * span).toFixed(1)} s</text>`;
  }).join('');
  const ratio = summary.bytesSent > 0 ? summary.bytesEveryFrame / summary.bytesSent : 0;
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(summary.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}h1{margin:0 0 4px}.sub{color:#666;margin-bottom:16px}
.stats{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.stat{background:#fff;border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:120px}.stat b{display:block;font-size:22px}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px}.card{margin:0;background:#fff;border:1px solid #ddd;border-radius:8px;overflow:hidden}
.card svg{width:100%;height:200px;background:#111;display:block}figcaption{padding:6px 8px;font-size:12px}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}</style></head>
<body><h1>${esc(summary.title)}</h1><div class="sub">${esc(summary.source)} · camera ${esc(summary.cameraId)} · policy <b>${esc(summary.policy)}</b> · ${summary.durationS.toFixed(1)} s</div>
<div class="stats">
<div class="stat"><b>${summary.objectsTracked}</b>objects tracked</div>
<div class="stat"><b>${summary.packagesImmediate}</b>sent immediately</div>
<div class="stat"><b>${summary.packagesCached}</b>sent through the queue</div>
<div class="stat"><b>${kb(summary.bytesSent)}</b>uploaded</div>
<div class="stat"><b>${ratio > 0 ? `${ratio.toFixed(1)}×` : 'n/a'}</b>fewer bytes than every frame (${kb(summary.bytesEveryFrame)}, ${esc(summary.everyFrameMethod)})</div>
<div class="stat"><b>${summary.framesProcessed}</b>frames processed (${summary.framesDropped} dropped of ${summary.framesCaptured})</div>
<div class="stat"><b>${summary.latencyMs.p50.toFixed(0)} / ${summary.latencyMs.p99.toFixed(0)} ms</b>latency p50 / p99</div>
<div class="stat"><b>${summary.delivered}</b>stored by the receiver</div></div>
<h2>Best shot per object</h2><div class="gallery">${cards || '<p>No object was selected.</p>'}</div>
<h2>Upload timeline</h2><div class="legend"><span style="background:#2a9d8f"></span>immediate (U1)<span style="background:#e9c46a"></span>cached (U2)</div>
<svg viewBox="0 0 ${W} ${H}" width="100%" style="background:#fff;border:1px solid #ddd">${marks}${axis}</svg>
</body></html>`;
  const page = join(dir, 'report.html');
  writeFileSync(page, html);
  return page;
}
