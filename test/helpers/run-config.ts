/** The config a test of `bestshot run` writes: one camera, a receiver endpoint, everything else in `dir`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RunConfigBody {
  /** The camera's `source:` value, YAML flow style (ignored with `cameras`). */
  source?: string;
  /** The whole `cameras:` list instead of one camera 'cam' (YAML block items, indented two spaces). */
  cameras?: string;
  /** The `model:` value, YAML flow style. Default `{ providers: [cpu] }`. */
  model?: string;
  /** upload.endpoint; absent with another sink (in `upload`). */
  endpoint?: string;
  /** Further `upload:` fields, YAML flow style (e.g. 'drainTimeoutS: 12'). */
  upload?: string;
  /** Metrics port; omitted: no metrics server. */
  metricsPort?: number;
  /** Further `queue:` fields, YAML flow style (e.g. 'maxPackages: 10'). */
  queue?: string;
  /** Further top-level YAML. */
  extra?: string;
  /** File name inside `dir`. Default config.yaml. */
  name?: string;
}

export function writeRunConfig(dir: string, body: RunConfigBody): string {
  const file = join(dir, body.name ?? 'config.yaml');
  writeFileSync(
    file,
    `version: 1
model: ${body.model ?? '{ providers: [cpu] }'}
cameras:
${body.cameras ?? `  - id: cam\n    source: ${body.source}\n`}upload: { ${body.endpoint === undefined ? '' : `endpoint: "${body.endpoint}", token: { env: BESTSHOT_TEST_TOKEN }, `}sendHz: 20${body.upload === undefined ? '' : `, ${body.upload}`} }
queue: { path: ${join(dir, 'queue.sqlite')}${body.queue === undefined ? '' : `, ${body.queue}`} }
stateDir: ${join(dir, 'state')}
report: { dir: ${join(dir, 'report')} }
${body.metricsPort === undefined ? 'metrics: { enabled: false }\n' : `metrics: { enabled: true, port: ${body.metricsPort} }\n`}log: { format: json }
${body.extra ?? ''}`,
  );
  return file;
}
