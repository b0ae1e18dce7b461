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

/**
 * `cropsOf` (upload.content crops): the crop part names of a package; a
 * package with crops shows them under its image (its first crop as the image
 * when it has no frame, content 'crops').
 */
export function renderBrowsePage(
  rows: readonly BrowseRow[],
  tracksOf: (key: string) => BrowseTrack[],
  total: number,
  cropsOf: (key: string) => { hasImage: boolean; crops: string[] } = () => ({ hasImage: true, crops: [] }),
): string {
  const cards = rows
    .map((r) => {
      const href = `/packages/${encodeURIComponent(r.key)}`;
      const tracks = tracksOf(r.key)
        .map((t) => `<span class="t">#${t.trackId} ${esc(t.label)} ${t.score.toFixed(2)}</span>`)
        .join(' ');
      const { hasImage, crops } = cropsOf(r.key);
      const main = hasImage || crops.length === 0 ? 'image.jpg' : `${crops[0]}.jpg`;
      const strip = crops.length > 0 ? `<div class="crops">${crops.map((c) => `<a href="${href}/${esc(c)}.jpg"><img src="${href}/${esc(c)}.jpg" alt="${esc(c)}"></a>`).join('')}</div>` : '';
      return `<figure class="pkg" data-key="${esc(r.key)}"><a href="${href}/${main}"><img src="${href}/${main}" alt="${esc(r.key)}"></a>${strip}
<figcaption><b>${esc(r.cameraId)}</b> image ${r.imageId} · ${(r.bytes / 1000).toFixed(1)} kB · ${new Date(r.receivedAtMs).toISOString()}${r.duplicates > 0 ? ` · ${r.duplicates} duplicate${r.duplicates === 1 ? '' : 's'} dropped` : ''}<br>${tracks || 'no track'} · <a href="${href}/metadata.json">metadata</a></figcaption></figure>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>bestshot receiver</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
.pkg{margin:0;background:#fff;border:1px solid #ddd;border-radius:8px;overflow:hidden}.pkg img{width:100%;display:block;background:#111}figcaption{padding:6px 8px;font-size:12px;line-height:1.6}.t{background:#eee;border-radius:3px;padding:0 4px}.crops{display:flex;flex-wrap:wrap;gap:2px;padding:2px}.crops img{height:64px;width:auto}</style></head>
<body data-stored="${total}" data-shown="${rows.length}"><h1>bestshot receiver</h1><p><b id="stored">${total}</b> packages stored; the newest ${rows.length} below.</p>
<div class="grid">${cards || '<p>Nothing stored yet.</p>'}</div></body></html>`;
}
