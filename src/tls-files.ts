/**
 * PEM files of a TLS client (a CA bundle, a client certificate and its key),
 * checked when they are read. Node checks none of them up front: a CA file
 * with no certificate in it silently replaces the system store with nothing
 * (every handshake then fails with "unable to verify the first certificate",
 * naming no setting), and a key that is not the certificate's fails at each
 * connection. Used by the config (`bestshot run`, check-config) and `bestshot
 * ingest`, which turn a problem into their own error.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** What is wrong with PEM text as a CA bundle / certificate ('certificate') or a private key, or undefined. */
export function pemProblem(text: string, role: 'certificate' | 'key'): string | undefined {
  if (role === 'key') {
    try {
      createPrivateKey(text);
      return undefined;
    } catch (err) {
      return `holds no private key that can be read without a passphrase (${(err as Error).message})`;
    }
  }
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return `certificate ${i + 1} cannot be read (${(err as Error).message})`;
    }
  }
  return undefined;
}

/**
 * A secret file (a token, a TLS private key) left at the umask's 0644 is read by every account of
 * the unit: said at each start of `bestshot run` and `bestshot ingest` and by check-config, as ssh
 * does for a key. Group-read is how install-jetson.sh shares /etc/bestshot with the service
 * (root:bestshot 0640), so only 'others' counts. The warning, or undefined (also when the file
 * cannot be read: its reader says so).
 */
export function secretFileReadableByAll(file: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return undefined;
  }
  if ((mode & 0o004) === 0) return undefined;
  return `secret file ${file} is readable by every local user (mode 0${mode.toString(8)}); chmod o-rwx it (0600, or 0640 with the service's group)`;
}

export interface TlsFilePaths {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

export interface TlsFileProblem {
  /** Which of the three: ca, cert or key. */
  which: 'ca' | 'cert' | 'key';
  message: string;
}

/**
 * Read and check the files; `problem` gets the first thing wrong (the caller
 * throws its own error: ConfigError, UsageError) and the result is then not
 * returned.
 */
export function readTlsFiles(paths: TlsFilePaths, problem: (p: TlsFileProblem) => never): { ca?: string; cert?: string; key?: string } {
  const out: { ca?: string; cert?: string; key?: string } = {};
  for (const which of ['ca', 'cert', 'key'] as const) {
    const path = paths[which];
    if (path === undefined) continue;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      problem({ which, message: `Cannot read file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
    }
    const wrong = pemProblem(text, which === 'key' ? 'key' : 'certificate');
    if (wrong !== undefined) problem({ which, message: `${path} ${wrong}` });
    out[which] = text;
  }
  if (out.cert !== undefined && out.key !== undefined) {
    try {
      createSecureContext({ cert: out.cert, key: out.key });
    } catch (err) {
      problem({ which: 'key', message: `${paths.key} is not the private key of the certificate ${paths.cert} (${(err as Error).message})` });
    }
  }
  return out;
}
