/**
 * The layout a JPEG declares in its headers: whether it carries a JFIF
 * (APP0) segment, and its frame's components (id, horizontal and vertical
 * sampling factors) from the first start-of-frame segment.
 */
export interface JpegLayout {
  jfif: boolean;
  components: Array<{ id: number; h: number; v: number }>;
}

export function jpegLayout(bytes: Uint8Array): JpegLayout {
  const layout: JpegLayout = { jfif: false, components: [] };
  let i = 2; // after SOI
  while (i + 4 <= bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1]!;
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (marker === 0xe0 && String.fromCharCode(...bytes.subarray(i + 4, i + 8)) === 'JFIF') layout.jfif = true;
    if (marker >= 0xc0 && marker <= 0xc2) {
      const n = bytes[i + 9]!;
      for (let k = 0; k < n; k++) {
        const at = i + 10 + 3 * k;
        layout.components.push({ id: bytes[at]!, h: bytes[at + 1]! >> 4, v: bytes[at + 1]! & 15 });
      }
    }
    if (marker === 0xda) break; // start of scan: the headers are over
    i += 2 + length;
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
  let i = 2; // after SOI
  while (i + 9 <= bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1]!;
    if (marker >= 0xc0 && marker <= 0xc2) return { width: (bytes[i + 7]! << 8) | bytes[i + 8]!, height: (bytes[i + 5]! << 8) | bytes[i + 6]! };
    i += 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
  }
  throw new Error('no start-of-frame segment');
}
