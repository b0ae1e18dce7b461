/**
 * What a file is, told by its first bytes (not its name): the formats a
 * file given to the product is often instead of what was asked for — an
 * image or a GIF where a video or the model should be, a download's error
 * page, an archive. One table for the capture's and the model's checks.
 */
const MAGIC: ReadonlyArray<readonly [kind: string, magic: readonly number[]]> = [
  ['a JPEG image', [0xff, 0xd8, 0xff]],
  ['a PNG image', [0x89, 0x50, 0x4e, 0x47]],
  ['a GIF image', [0x47, 0x49, 0x46, 0x38]],
  ['a zip archive', [0x50, 0x4b, 0x03, 0x04]],
  ['a gzip archive', [0x1f, 0x8b]],
  ['an HTML page', [0x3c]],
];

/** 'a JPEG image', 'a GIF image', … for bytes that start as one of these formats; undefined otherwise. */
export function fileKind(head: Uint8Array): string | undefined {
  return MAGIC.find(([, magic]) => head.length >= magic.length && magic.every((b, i) => head[i] === b))?.[0];
}
