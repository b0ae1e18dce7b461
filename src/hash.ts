/** The one SHA-256 helper: model checksums, package image digests, input fingerprints. */
import { createHash } from 'node:crypto';

/** Lower-case hex SHA-256 of `data`. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
