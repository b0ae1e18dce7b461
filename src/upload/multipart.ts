/**
 * multipart/form-data encoding of a package (U1/U2): part "metadata"
 * (application/json) then part "image" (image/jpeg). Built as one Buffer so
 * the request carries a Content-Length and a retry resends the same bytes.
 */
import { randomBytes } from 'node:crypto';
import { encodeMetadata, type UploadPackage } from './package.js';

export interface EncodedMultipart {
  contentType: string;
  body: Buffer;
}

export function encodeMultipart(pkg: UploadPackage, boundary = `----bestshot${randomBytes(12).toString('hex')}`): EncodedMultipart {
  const filename = `${pkg.idempotencyKey.replace(/[^A-Za-z0-9._-]/g, '_')}.jpg`;
  const head = (name: string, type: string, file?: string): Buffer =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"` : ''}\r\nContent-Type: ${type}\r\n\r\n`,
      'utf8',
    );
  const body = Buffer.concat([
    head('metadata', 'application/json'),
    encodeMetadata(pkg.metadata),
    Buffer.from('\r\n'),
    head('image', 'image/jpeg', filename),
    pkg.jpeg,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { contentType: `multipart/form-data; boundary=${boundary}`, body };
}
