/**
 * The HTML report of a run: a gallery of the best shot per object (box and
 * score drawn over the uploaded JPEG) and a timeline of uploads. One
 * self-contained page plus an images/ folder next to it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrackEntry } from '../types.js';
import { writeFileDurable } from '../capture/image-ids.js';
import { makeDirectory } from '../process-lock.js';

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
  /** The image; absent when it is already at `<dir>/images/<key>.jpg` (a run's images, RunImages). */
  jpeg?: Uint8Array;
  /** false: the package carries no frame (upload.content 'crops'), only `crops`. Default true. */
  hasFrame?: boolean;
  /**
   * The package's crops (upload.content 'crops', 'frame+crops'): each at `<dir>/images/<file>`, showing
   * `rect` of the frame (frame pixels). An object's card shows its own crop, full resolution.
   */
  crops?: Array<{ trackId: number; rect: { x: number; y: number; width: number; height: number }; file: string }>;
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
  /** Bytes of the packages built (selected for upload), delivered or not. */
  bytesSelected: number;
  /** Bytes had every processed frame been sent (see `everyFrameMethod`). */
  bytesEveryFrame: number;
  everyFrameMethod: string;
  delivered: number;
  /** Packages still in the queue when the report was written (sent at the next start). */
  stillQueued?: number;
  /** Packages dropped because the queue was full, refused by the endpoint for good, and object segments 'budget' gave up on. */
  queueDropped?: number;
  deadLettered?: number;
  unsentObjects?: number;
  /** A replay stopped by a signal before its recording ended: the signal. */
  interrupted?: string;
  /** Capture → packages built; `frames` = how many frames the percentiles are over (run: the most recent ones). */
  latencyMs: { p50: number; p99: number; frames: number; window?: string };
  durationS: number;
}

/** What of the selection did not reach the endpoint, and why: every package is accounted for on the page (U2). */
function notDelivered(s: ReportSummary): string {
  const parts = [
    (s.stillQueued ?? 0) > 0 ? `<span id="still-queued">${s.stillQueued}</span> still queued, sent at the next start` : '',
    (s.queueDropped ?? 0) > 0 ? `<span id="queue-dropped">${s.queueDropped}</span> dropped: the queue was full` : '',
    (s.deadLettered ?? 0) > 0 ? `<span id="dead-lettered">${s.deadLettered}</span> refused by the endpoint (dead letters)` : '',
  ].filter((p) => p !== '');
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

/** Nearest-rank percentile (p in 0..100) of capture → packages-built latencies; 0 for none (the report then shows —). */
export function latencyPercentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
// Binary units, as the run's and the replay's summaries print them (the report said 143.5 kB of what they said 140 KiB).
const kb = (b: number): string => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#469990', '#9a6324'];

/** A box as an HTML overlay in % of a view (vx, vy, vw, vh) of the frame: crisp at any size, label at a fixed pixel size. */
function boxDiv(entry: TrackEntry, view: { x: number; y: number; w: number; h: number }, color: string, label: string): string {
  const b = entry.box;
  const pct = (v: number): string => `${(v * 100).toFixed(3)}%`;
  const style = [
    `left:${pct((b.cx - b.w / 2 - view.x) / view.w)}`,
    `top:${pct((b.cy - b.h / 2 - view.y) / view.h)}`,
    `width:${pct(b.w / view.w)}`,
    `height:${pct(b.h / view.h)}`,
    `border-color:${color}`,
    b.angle ? `transform:rotate(${((-b.angle * 180) / Math.PI).toFixed(2)}deg)` : '',
  ]
    .filter(Boolean)
    .join(';');
  // The label sits above the box, 18 px up; a box at the top of its view (a crop with the box at
  // its margin) had it cut off by the view's edge: then it goes inside the box's top.
  const inside = (b.cy - b.h / 2 - view.y) / view.h < 0.1;
  return `<div class="bx" style="${style}"><span class="tag${inside ? ' in' : ''}" style="background:${color}">${esc(label)}</span></div>`;
}

/** The view of a frame: the whole frame, or a square-ish crop around a box with a margin. */
function cropView(e: TrackEntry, width: number, height: number): { x: number; y: number; w: number; h: number } {
  const pad = Math.max(e.box.w, e.box.h) * 0.6 + 20;
  const x = Math.max(0, e.box.cx - pad);
  const y = Math.max(0, e.box.cy - pad);
  return { x, y, w: Math.max(1, Math.min(width - x, pad * 2)), h: Math.max(1, Math.min(height - y, pad * 2)) };
}

/**
 * An image shown through a view (frame pixels): the container keeps the view's aspect ratio, the image
 * is scaled and shifted into it. `shows`: the part of the frame the image is (a crop), default the whole
 * frame from (0, 0) `width` wide — whatever the image's own pixel size (a scaled context frame).
 */
function viewImg(src: string, width: number, view: { x: number; y: number; w: number; h: number }, alt: string, shows?: { x: number; y: number; width: number }): string {
  const s = shows ?? { x: 0, y: 0, width };
  const style = `width:${((s.width / view.w) * 100).toFixed(3)}%;left:${(((s.x - view.x) / view.w) * 100).toFixed(3)}%;top:${(((s.y - view.y) / view.h) * 100).toFixed(3)}%`;
  return `<img src="${src}" alt="${esc(alt)}" style="${style}">`;
}

/** The track's label: its T1 vote when the entry carries it, else the detected class. */
const trackLabelOf = (e: TrackEntry): string => e.trackLabel?.label ?? e.box.label;

/** Write report.html (and images/) into `dir`; returns the page's path. */
export function writeReport(dir: string, summary: ReportSummary, uploads: ReportUpload[]): string {
  makeDirectory(join(dir, 'images'));
  const imageFile = new Map<string, string>();
  const anchor = (key: string): string => `f-${key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  for (const u of uploads) {
    const name = `images/${u.idempotencyKey.replace(/[^A-Za-z0-9_-]/g, '_')}.jpg`;
    if (u.jpeg) writeFileSync(join(dir, name), u.jpeg);
    imageFile.set(u.idempotencyKey, name);
  }
  // Every upload of each object, in order; its best shot is the last one it
  // selected (each selection replaces the object's previous best, S4/S7).
  // An object is a camera's track: track ids are per camera, so cameras of one run share none.
  const objectKey = (cameraId: string, trackId: number): string => `${cameraId}\u0000${trackId}`;
  const objects = new Map<string, { cameraId: string; trackId: number }>();
  const byTrack = new Map<string, ReportUpload[]>();
  for (const u of uploads)
    for (const id of u.selectedTrackIds) {
      const key = objectKey(u.cameraId, id);
      objects.set(key, { cameraId: u.cameraId, trackId: id });
      byTrack.set(key, [...(byTrack.get(key) ?? []), u]);
    }
  const ids = [...byTrack.keys()].sort((a, b) => {
    const x = objects.get(a)!;
    const y = objects.get(b)!;
    return x.cameraId < y.cameraId ? -1 : x.cameraId > y.cameraId ? 1 : x.trackId - y.trackId;
  });
  const cameras = new Set(uploads.map((u) => u.cameraId));
  /** `#7`, or with several cameras `cam-a #7`. */
  const nameOf = (cameraId: string, trackId: number): string => (cameras.size > 1 ? `${cameraId} #${trackId}` : `#${trackId}`);
  const labelOf = new Map<string, string>();
  for (const key of ids) {
    const { trackId } = objects.get(key)!;
    const e = byTrack.get(key)!.at(-1)!.tracks.find((t) => t.trackId === trackId)?.entry;
    labelOf.set(key, e ? trackLabelOf(e) : '?');
  }
  const classCounts = new Map<string, number>();
  for (const label of labelOf.values()) classCounts.set(label, (classCounts.get(label) ?? 0) + 1);

  const cards = ids
    .map((key) => {
      const { cameraId, trackId } = objects.get(key)!;
      const name = nameOf(cameraId, trackId);
      const list = byTrack.get(key)!;
      const u = list.at(-1)!;
      const e = u.tracks.find((t) => t.trackId === trackId)?.entry;
      if (!e) return '';
      const color = COLORS[trackId % COLORS.length]!;
      // Its own crop where the package has one (full resolution), else the frame around its box.
      const crop = u.crops?.find((c) => c.trackId === trackId);
      const view = crop ? { x: crop.rect.x, y: crop.rect.y, w: crop.rect.width, h: crop.rect.height } : cropView(e, u.width, u.height);
      const label = `${name} ${trackLabelOf(e)} ${e.box.score.toFixed(2)}`;
      const picture = crop
        ? viewImg(`images/${crop.file}`, u.width, view, label, crop.rect)
        : u.hasFrame === false
          ? ''
          : viewImg(imageFile.get(u.idempotencyKey)!, u.width, view, label);
      const links = list
        .map((x) => `<a href="#${anchor(x.idempotencyKey)}" class="up ${x.route}">image ${x.imageId}</a>`)
        .join(' ');
      return `<figure class="card" data-camera="${esc(cameraId)}" data-track="${trackId}"><a class="crop" href="#${anchor(u.idempotencyKey)}" style="aspect-ratio:${(view.w / view.h).toFixed(4)}">${picture}${boxDiv(e, view, color, label)}</a>
<figcaption><b>${esc(name)}</b> ${esc(trackLabelOf(e))}${e.box.label !== trackLabelOf(e) ? ` (detected ${esc(e.box.label)})` : ''} · score ${e.box.score.toFixed(2)} · ${Math.round(e.box.w)}×${Math.round(e.box.h)} px · ${u.route}<br>${list.length} upload${list.length === 1 ? '' : 's'}: ${links}</figcaption></figure>`;
    })
    .join('\n');

  // Full frames with every box, opened from the cards (CSS :target, no script).
  // The frame; a package without one (upload.content 'crops') shows its crops where they lie in it.
  const frameImages = (u: ReportUpload, view: { x: number; y: number; w: number; h: number }): string =>
    u.hasFrame === false
      ? (u.crops ?? []).map((c) => viewImg(`images/${c.file}`, u.width, view, `image ${u.imageId} track ${c.trackId}`, c.rect)).join('')
      : `<img src="${imageFile.get(u.idempotencyKey)}" alt="image ${u.imageId}" style="width:100%;left:0;top:0">`;
  const frames = uploads
    .map((u) => {
      const view = { x: 0, y: 0, w: Math.max(1, u.width), h: Math.max(1, u.height) };
      const boxes = u.tracks
        .map((t) => boxDiv(t.entry, view, COLORS[t.trackId % COLORS.length]!, `${nameOf(u.cameraId, t.trackId)} ${trackLabelOf(t.entry)} ${t.entry.box.score.toFixed(2)}`))
        .join('');
      return `<section class="frame" id="${anchor(u.idempotencyKey)}"><div class="ffwrap"><a class="close" href="#">close ✕</a><div class="ff" style="aspect-ratio:${(view.w / view.h).toFixed(4)}">${frameImages(u, view)}${boxes}</div><p>image ${u.imageId} · ${u.route} · ${kb(u.bytes)} · selected for ${u.selectedTrackIds.map((id) => esc(nameOf(u.cameraId, id))).join(', ')} · ${u.tracks.length} track${u.tracks.length === 1 ? '' : 's'} in the frame</p></div></section>`;
    })
    .join('\n');

  // Timeline: x = time, one labelled row per object, a mark per upload it selected.
  const t0 = uploads.length ? uploads.reduce((m, u) => (u.timestampNs < m ? u.timestampNs : m), uploads[0]!.timestampNs) : 0n;
  const t1 = uploads.length ? uploads.reduce((m, u) => (u.timestampNs > m ? u.timestampNs : m), uploads[0]!.timestampNs) : 1n;
  const span = Math.max(1e-9, Number(t1 - t0) / 1e9);
  const row = new Map(ids.map((id, i) => [id, i]));
  const W = 900;
  const left = 110;
  const rowH = 14;
  const H = Math.max(40, ids.length * rowH + 30);
  const rowLabels = ids
    .map((key, i) => {
      const { cameraId, trackId } = objects.get(key)!;
      return `<text x="${left - 8}" y="${10 + i * rowH + rowH - 4}" font-size="11" text-anchor="end">${esc(nameOf(cameraId, trackId))} ${esc(labelOf.get(key) ?? '')}</text>`;
    })
    .join('');
  const marks = uploads
    .flatMap((u) =>
      u.selectedTrackIds.map((id) => {
        const x = left + (Number(u.timestampNs - t0) / 1e9 / span) * (W - left - 20);
        const y = 10 + (row.get(objectKey(u.cameraId, id)) ?? 0) * rowH;
        const fill = u.route === 'immediate' ? '#2a9d8f' : '#e9c46a';
        return `<a href="#${anchor(u.idempotencyKey)}"><rect x="${x - 3}" y="${y}" width="6" height="${rowH - 3}" fill="${fill}"><title>${esc(nameOf(u.cameraId, id))} image ${u.imageId} ${u.route} ${kb(u.bytes)}</title></rect></a>`;
      }),
    )
    .join('');
  const axis = Array.from({ length: 6 }, (_, i) => {
    const x = left + (i / 5) * (W - left - 20);
    return `<text x="${x}" y="${H - 4}" font-size="11" text-anchor="middle">${((i / 5) * span).toFixed(1)} s</text>`;
  }).join('');

  // W1: the objects' ground tracks (east/north metres from the camera), where positions exist.
  const ground = new Map<string, { cameraId: string; trackId: number; points: Array<[number, number]> }>();
  for (const u of uploads)
    for (const t of u.tracks) {
      const w = t.entry.worldPosition;
      if (!w || !Number.isFinite(w.east) || !Number.isFinite(w.north)) continue;
      const key = objectKey(u.cameraId, t.trackId);
      const g = ground.get(key) ?? { cameraId: u.cameraId, trackId: t.trackId, points: [] };
      g.points.push([w.east, w.north]);
      ground.set(key, g);
    }
  let groundSvg = '';
  if (ground.size > 0) {
    const pts = [...ground.values()].flatMap((g) => g.points);
    const minE = Math.min(0, ...pts.map((p) => p[0]));
    const maxE = Math.max(0, ...pts.map((p) => p[0]));
    const minN = Math.min(0, ...pts.map((p) => p[1]));
    const maxN = Math.max(0, ...pts.map((p) => p[1]));
    const size = 420;
    const scale = (size - 40) / Math.max(1e-6, maxE - minE, maxN - minN);
    const X = (e: number): number => 20 + (e - minE) * scale;
    const Y = (n: number): number => size - 20 - (n - minN) * scale;
    const lines = [...ground.values()]
      .map(({ cameraId, trackId, points: p }) => {
        const color = COLORS[trackId % COLORS.length]!;
        const d = p.map(([e, n]) => `${X(e).toFixed(1)},${Y(n).toFixed(1)}`).join(' ');
        const [le, ln] = p.at(-1)!;
        return `<polyline points="${d}" fill="none" stroke="${color}" stroke-width="2"/><circle cx="${X(le).toFixed(1)}" cy="${Y(ln).toFixed(1)}" r="3" fill="${color}"/><text x="${(X(le) + 5).toFixed(1)}" y="${Y(ln).toFixed(1)}" font-size="11">${esc(nameOf(cameraId, trackId))}</text>`;
      })
      .join('');
    groundSvg = `<h2>Ground tracks (W1, metres east / north of the camera)</h2><svg class="ground" viewBox="0 0 ${size} ${size}" width="${size}" height="${size}"><circle cx="${X(0)}" cy="${Y(0)}" r="5" fill="#000"/><text x="${X(0) + 7}" y="${Y(0) + 4}" font-size="11">camera</text>${lines}</svg>`;
  }

  const ratio = summary.bytesSelected > 0 && summary.bytesEveryFrame > 0 ? summary.bytesEveryFrame / summary.bytesSelected : 0;
  const classes = [...classCounts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([label, n]) => `<span class="cls"><b>${n}</b> ${esc(label)}</span>`)
    .join('');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(summary.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}h1{margin:0 0 4px}.sub{color:#666;margin-bottom:16px}
.stats{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.stat{background:#fff;border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:120px}.stat b{display:block;font-size:22px}
.classes{margin:8px 0 16px}.cls{display:inline-block;background:#fff;border:1px solid #ddd;border-radius:14px;padding:3px 10px;margin:0 6px 6px 0}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px}.card{margin:0;background:#fff;border:1px solid #ddd;border-radius:8px;overflow:hidden}
.crop,.ff{position:relative;display:block;overflow:hidden;background:#111}.crop{max-height:260px}.crop img,.ff img{position:absolute;max-width:none;height:auto;display:block}
.bx{position:absolute;border:2px solid;box-sizing:border-box;pointer-events:none}.tag{position:absolute;left:-2px;top:-18px;font:600 12px/16px system-ui,sans-serif;color:#fff;padding:0 4px;white-space:nowrap;text-shadow:0 0 2px #000;border-radius:2px}.tag.in{top:0}
figcaption{padding:6px 8px;font-size:12px;line-height:1.6}.up{display:inline-block;padding:0 5px;border-radius:3px;text-decoration:none;color:#222}.up.immediate{background:#bfe5df}.up.cached{background:#f6e7b5}
.frame{display:none}.frame:target{display:flex;position:fixed;inset:0;background:rgba(0,0,0,.85);z-index:10;align-items:center;justify-content:center}.ffwrap{width:min(95vw,1400px);color:#eee}.ffwrap p{margin:6px 0}.close{color:#fff;float:right;text-decoration:none}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}.ground{background:#fff;border:1px solid #ddd}</style></head>
<body data-uploads="${uploads.length}" data-objects="${ids.length}"><h1>${esc(summary.title)}</h1><div class="sub">${esc(summary.source)} · camera ${esc(summary.cameraId)} · policy <b>${esc(summary.policy)}</b> · ${summary.durationS.toFixed(1)} s${summary.interrupted !== undefined ? ` · <b id="interrupted">interrupted by ${esc(summary.interrupted)}</b> before the recording ended` : ''}</div>
<div class="stats">
<div class="stat"><b id="objects-tracked">${summary.objectsTracked}</b>objects tracked</div>
<div class="stat"><b id="packages-immediate">${summary.packagesImmediate}</b>selected to send at once</div>
<div class="stat"><b id="packages-cached">${summary.packagesCached}</b>selected for the queue</div>
<div class="stat"><b>${kb(summary.bytesSelected)}</b>selected for upload</div>
${
  ratio > 0
    ? `<div class="stat"><b>${ratio.toFixed(1)}×</b>fewer bytes than every frame (${kb(summary.bytesEveryFrame)}, ${esc(summary.everyFrameMethod)})</div>`
    : `<div class="stat"><b>—</b>bytes of every frame ${esc(summary.everyFrameMethod)}</div>`
}
<div class="stat"><b>${summary.framesProcessed}</b>frames processed (${summary.framesDropped} dropped)</div>
<div class="stat"><b id="latency">${summary.latencyMs.frames > 0 ? `${summary.latencyMs.p50.toFixed(0)} / ${summary.latencyMs.p99.toFixed(0)} ms` : '—'}</b>latency p50 / p99 (capture → packages built${summary.latencyMs.window ? `, ${esc(summary.latencyMs.window)}` : ''})</div>
<div class="stat"><b id="delivered">${summary.delivered}</b>delivered to the endpoint${notDelivered(summary)}</div>
${(summary.unsentObjects ?? 0) > 0 ? `<div class="stat"><b id="unsent-objects">${summary.unsentObjects}</b>objects (track segments) never sent: the budget policy gave up on them</div>` : ''}</div>
<h2>Objects by class</h2><div class="classes">${classes || 'none'}</div>
<h2>Best shot per object</h2><div class="gallery">${cards || '<p>No object was selected.</p>'}</div>
<h2>Upload timeline</h2><div class="legend"><span style="background:#2a9d8f"></span>immediate (U1)<span style="background:#e9c46a"></span>cached (U2)</div>
<svg viewBox="0 0 ${W} ${H}" width="100%" style="background:#fff;border:1px solid #ddd">${rowLabels}${marks}${axis}</svg>
${groundSvg}
${frames}
</body></html>`;
  // Replaced whole (temp file, rename), never truncated in place: a full disk (or a power cut while
  // writing) left a cut-off page where the last complete report was.
  writeFileDurable(dir, 'report.html', html);
  return join(dir, 'report.html');
}
