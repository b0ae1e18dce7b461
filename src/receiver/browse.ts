/**
 * The receiver's browse page: what it stored, newest first, with each
 * package's image and its tracks. Everything shown comes from clients, so
 * every value is HTML-escaped; the page loads no script.
 *
 * A browser cannot send a bearer header, so `GET /browse?token=…` with the
 * right token answers with an HttpOnly, SameSite=Strict cookie holding it and
 * a redirect to /browse; the cookie then authorises the page and its images
 * like the header does (docs/upload.md).
 */
export const TOKEN_COOKIE = 'bestshot_token';

export interface BrowseRow {
  seq: number;
  key: string;
  cameraId: string;
  imageId: number;
  receivedAtMs: number;
  bytes: number;
  duplicates: number;
}

export interface BrowseTrack {
  trackId: number;
  label: string;
  score: number;
}

/**
 * Packages on one page (the newest, or those before ?before=<seq>). With the caps below a page
 * stays under about a megabyte whatever the packages hold: it rendered every track and crop of
 * 200 packages, 72 MB for 1000 tracks each.
 */
export const BROWSE_PAGE_ROWS = 200;
/** Tracks shown per package; the rest are counted ("+N more"); the whole list is in its metadata.json. */
export const BROWSE_TRACKS = 20;
/** Crops shown per package (a package may carry 256). */
export const BROWSE_CROPS = 12;
/** Characters of a label shown (the schema allows 128, and each may take 5 escaped). */
const BROWSE_LABEL = 32;

/** What a card shows of a package, taken from its metadata once (the receiver keeps it). */
export interface BrowseSummary {
  tracks: BrowseTrack[];
  /** Tracks not shown (beyond BROWSE_TRACKS). */
  moreTracks: number;
  hasImage: boolean;
  /** crop part names shown (at most BROWSE_CROPS), and how many more there are. */
  crops: string[];
  moreCrops: number;
}

/**
 * A card's content from a package's parsed metadata (anything: a file edited by hand shows what
 * can be read of it; undefined shows a frame and no track).
 */
export function summarizeForBrowse(meta: unknown, cropPart: RegExp): BrowseSummary {
  const m = (typeof meta === 'object' && meta !== null ? meta : {}) as {
    image?: unknown;
    tracks?: unknown;
    crops?: unknown;
  };
  const tracks: BrowseTrack[] = [];
  const allTracks = Array.isArray(m.tracks) ? (m.tracks as Array<{ trackId?: unknown; label?: unknown; entry?: { box?: { label?: unknown; score?: unknown } } }>) : [];
  for (const t of allTracks.slice(0, BROWSE_TRACKS)) {
    const label = typeof t?.label === 'string' ? t.label : t?.entry?.box?.label;
    const score = t?.entry?.box?.score;
    if (typeof t?.trackId !== 'number' || typeof label !== 'string' || typeof score !== 'number') continue;
    tracks.push({ trackId: t.trackId, label: label.length > BROWSE_LABEL ? `${label.slice(0, BROWSE_LABEL - 1)}…` : label, score });
  }
  const allCrops = (Array.isArray(m.crops) ? (m.crops as Array<{ part?: unknown }>) : []).map((c) => c?.part).filter((p): p is string => typeof p === 'string' && cropPart.test(p));
  return {
    tracks,
    moreTracks: Math.max(0, allTracks.length - BROWSE_TRACKS),
    hasImage: meta === undefined || m.image !== null,
    crops: allCrops.slice(0, BROWSE_CROPS),
    moreCrops: Math.max(0, allCrops.length - BROWSE_CROPS),
  };
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The token a browse request carries in its cookie, if any. */
export function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === TOKEN_COOKIE) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

const NO_SUMMARY: BrowseSummary = { tracks: [], moreTracks: 0, hasImage: true, crops: [], moreCrops: 0 };

/**
 * The page of `rows` (newest first). A package with crops (upload.content crops) shows them under
 * its image (its first crop as the image when it has no frame, content 'crops'). `olderBefore`:
 * the seq to link the next (older) page to, when there may be one.
 */
export function renderBrowsePage(rows: readonly BrowseRow[], summaries: ReadonlyMap<string, BrowseSummary>, total: number, olderBefore?: number): string {
  const cards = rows
    .map((r) => {
      const href = `/packages/${encodeURIComponent(r.key)}`;
      const s = summaries.get(r.key) ?? NO_SUMMARY;
      const tracks =
        s.tracks.map((t) => `<span class="t">#${t.trackId} ${esc(t.label)} ${t.score.toFixed(2)}</span>`).join(' ') + (s.moreTracks > 0 ? ` +${s.moreTracks} more` : '');
      const { hasImage, crops } = s;
      const main = hasImage || crops.length === 0 ? 'image.jpg' : `${crops[0]}.jpg`;
      const strip =
        crops.length > 0
          ? `<div class="crops">${crops.map((c) => `<a href="${href}/${esc(c)}.jpg"><img src="${href}/${esc(c)}.jpg" alt="${esc(c)}"></a>`).join('')}${s.moreCrops > 0 ? `<span>+${s.moreCrops} more</span>` : ''}</div>`
          : '';
      return `<figure class="pkg" data-key="${esc(r.key)}"><a href="${href}/${main}"><img src="${href}/${main}" alt="${esc(r.key)}"></a>${strip}
<figcaption><b>${esc(r.cameraId)}</b> image ${r.imageId} · ${(r.bytes / 1000).toFixed(1)} kB · ${new Date(r.receivedAtMs).toISOString()}${r.duplicates > 0 ? ` · ${r.duplicates} duplicate${r.duplicates === 1 ? '' : 's'} dropped` : ''}<br>${tracks || 'no track'} · <a href="${href}/metadata.json">metadata</a></figcaption></figure>`;
    })
    .join('\n');
  const older = olderBefore !== undefined ? `<p><a id="older" href="/browse?before=${olderBefore}">older packages</a></p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>bestshot receiver</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
.pkg{margin:0;background:#fff;border:1px solid #ddd;border-radius:8px;overflow:hidden}.pkg img{width:100%;display:block;background:#111}figcaption{padding:6px 8px;font-size:12px;line-height:1.6}.t{background:#eee;border-radius:3px;padding:0 4px}.crops{display:flex;flex-wrap:wrap;gap:2px;padding:2px}.crops img{height:64px;width:auto}</style></head>
<body data-stored="${total}" data-shown="${rows.length}"><h1>bestshot receiver</h1><p><b id="stored">${total}</b> packages stored; ${olderBefore === undefined && rows.length === total ? 'all' : `${rows.length}`} below, newest first.</p>
<div class="grid">${cards || '<p>Nothing stored yet.</p>'}</div>${older}</body></html>`;
}
