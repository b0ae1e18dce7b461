/**
 * The layout a JPEG declares in its headers: whether it carries a JFIF
 * (APP0) segment, and its frame's components (id, horizontal and vertical
 * sampling factors) from the first start-of-frame segment.
 */
export interface JpegLayout {
  jfif: boolean;
  components: Array<{ id: number; h: number; v: number }>;
}

/** The header segments before the first scan: marker and the offset of its length field. */
function* headerSegments(bytes: Uint8Array): Generator<{ marker: number; at: number }> {
  let i = 2; // after SOI
  while (i + 4 <= bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1]!;
    if (marker === 0xda) return; // start of scan: the headers are over
    yield { marker, at: i + 2 };
    i += 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
  }
}

const isStartOfFrame = (marker: number): boolean => marker >= 0xc0 && marker <= 0xc2;

export function jpegLayout(bytes: Uint8Array): JpegLayout {
  const layout: JpegLayout = { jfif: false, components: [] };
  for (const { marker, at } of headerSegments(bytes)) {
    if (marker === 0xe0 && String.fromCharCode(...bytes.subarray(at + 2, at + 6)) === 'JFIF') layout.jfif = true;
    if (isStartOfFrame(marker) && layout.components.length === 0) {
      const n = bytes[at + 7]!;
      for (let k = 0; k < n; k++) {
        const c = at + 8 + 3 * k;
        layout.components.push({ id: bytes[c]!, h: bytes[c + 1]! >> 4, v: bytes[c + 1]! & 15 });
      }
    }
  }
  return layout;
}

/** Baseline JFIF Y'CbCr with 4:2:0 chroma: what a package's JPEG is (docs/performance.md "Package JPEGs"). */
export const JFIF_420: JpegLayout = {
  jfif: true,
  components: [
    { id: 1, h: 2, v: 2 },
    { id: 2, h: 1, v: 1 },
    { id: 3, h: 1, v: 1 },
  ],
};

/** The image size a JPEG's first start-of-frame segment declares. */
export function jpegDimensions(bytes: Uint8Array): { width: number; height: number } {
  for (const { marker, at } of headerSegments(bytes)) {
    if (isStartOfFrame(marker)) return { width: (bytes[at + 5]! << 8) | bytes[at + 6]!, height: (bytes[at + 3]! << 8) | bytes[at + 4]! };
  }
  throw new Error('no start-of-frame segment');
}
