/**
 * multipart/form-data encoding of a package (U1/U2): part "metadata"
 * (application/json) then part "image" (image/jpeg) — and, for upload.content
 * 'crops' / 'frame+crops', parts "crop-0", "crop-1", … (image/jpeg). Built as one Buffer so
 * the request carries a Content-Length and a retry resends the same bytes.
 */
import { randomBytes } from 'node:crypto';
import { packageParts } from './content.js';
import { encodeMetadata, type UploadPackage } from './package.js';

export interface EncodedMultipart {
  contentType: string;
  body: Buffer;
}

export function encodeMultipart(pkg: UploadPackage, boundary = `----bestshot${randomBytes(12).toString('hex')}`): EncodedMultipart {
  const head = (name: string, type: string, file?: string): Buffer =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"` : ''}\r\nContent-Type: ${type}\r\n\r\n`,
      'utf8',
    );
  const chunks: Buffer[] = [head('metadata', 'application/json'), encodeMetadata(pkg.metadata)];
  // 'frame' content: one 'image' part, exactly as before; crops add 'crop-N' parts (upload/content.ts).
  for (const part of packageParts(pkg)) chunks.push(Buffer.from('\r\n'), head(part.name, 'image/jpeg', part.filename), part.data);
  chunks.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}
