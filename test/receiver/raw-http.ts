/** Raw-socket HTTP for the receiver's hostile-input tests: bytes exactly as written, the answer as read. */
import { connect } from 'node:net';

export interface RawAnswer {
  /** Status of the first response line; 0 when the server closed without answering. */
  status: number;
  text: string;
  /** The server closed the connection (rather than our timeout). */
  closed: boolean;
  ms: number;
}

/**
 * Write `chunks` (awaiting `gapMs` between them), then read until the server
 * closes or `timeoutMs`. Writing stops quietly once the server has closed.
 */
export function rawRequest(port: number, chunks: Array<string | Buffer>, opts: { gapMs?: number; timeoutMs?: number } = {}): Promise<RawAnswer> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    let finished = false;
    const finish = (closed: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text, closed, ms: Date.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 5000);
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('connect', async () => {
      for (const c of chunks) {
        if (finished || sock.destroyed || !sock.writable) return;
        sock.write(c);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    });
  });
}

/** multipart/form-data body with raw parts (name, optional filename, content). */
export function multipartBody(boundary: string, parts: Array<{ name: string; filename?: string; type?: string; data: string | Buffer }>, close = true): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    out.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}\r\nContent-Type: ${p.type ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data),
      Buffer.from('\r\n'),
    );
  }
  if (close) out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

/** A POST /packages head. */
export function postHead(headers: Record<string, string | number>): string {
  return `POST /packages HTTP/1.1\r\nHost: x\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}
