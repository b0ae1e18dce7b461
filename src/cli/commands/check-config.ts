/** `bestshot check-config <file>`: validate a config file, print OK and a redacted summary, or every error with its line. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from '../args.js';
import { stringify } from 'yaml';
import { ConfigError } from '../../errors.js';
import { ConfigValidationError, loadConfig, migrate, missingRecordings, parseYaml, readConfigText, unsupportedRecordings, redact, renderSchemaMarkdown, tlsFileProblems } from '../../config/index.js';
import type { Command } from '../commands.js';
import { checkModelFile, Detector, missingModelMessage } from '../../detect/index.js';
import { detectorOptions } from '../../config/index.js';

const usage = `Usage: bestshot check-config [--config] <file> [options]

Validate a bestshot YAML config: schema per section, unknown keys, secrets
(resolved but never printed), cross-field checks and migrations from older
versions. Prints OK and the full config with every default filled in and
secrets redacted, or every error with its line; exit status 1 on errors.

Options:
  -c, --config <file>  the config file (or give it as the argument)
      --json           print the redacted config as JSON instead of YAML
  -q, --quiet          print only OK / the errors and warnings
      --migrate        print the file migrated to the current version (comments are lost)
      --schema         print the reference table of every key (Markdown) and exit
      --load-model     also load the configured model (manifest, sha256, shapes,
                       a warm-up inference on the first provider that loads):
                       the self-check an OTA update runs before switching
      --no-model-check do not check the model file (present, sha256 in its
                       manifest): a config prepared before the model is installed

The verdict (OK, warnings, errors) goes to stderr; stdout carries only the
printed config, so '--json' output parses as JSON. A missing model file, or
one whose sha256 is not in its manifest, is an error (exit 1), as it is for
'bestshot run'; a file source whose file is missing too, and a TLS file
(upload.ca/cert/key, the broker's) that cannot be read, holds no PEM
certificate or private key, or a key that is not the certificate's.
  -h, --help           this text`;

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      migrate: { type: 'boolean', default: false },
      schema: { type: 'boolean', default: false },
      'load-model': { type: 'boolean', default: false },
      'no-model-check': { type: 'boolean', default: false },
    },
  });
  if (values.schema) {
    console.log(renderSchemaMarkdown());
    return 0;
  }
  const file = values.config ?? positionals[0];
  // What is wrong first, as 'receiver' says a missing --dir: the usage alone named nothing.
  if (file === undefined) {
    console.error(`bestshot check-config: a config file is required (give it as the argument or with --config)\n\n${usage}`);
    return 2;
  }
  const extra = positionals.slice(values.config === undefined ? 1 : 0);
  if (extra.length > 0) {
    console.error(`bestshot check-config: one config file at a time: unexpected ${extra.map((a) => `'${a}'`).join(', ')}\n\n${usage}`);
    return 2;
  }
  const abs = resolve(file);
  try {
    if (values.migrate) {
      // Read as check-config reads (a missing file, a folder, a file too large: said with the path, exit 1, not a bare ENOENT/EISDIR).
      const { raw } = parseYaml(await readConfigText(abs));
      const { doc, fromVersion, notes } = migrate(raw);
      for (const n of notes) console.error(`note: ${n}`);
      if (fromVersion === doc.version && notes.length === 0) console.error(`note: already at version ${String(doc.version ?? 1)}`);
      process.stdout.write(stringify(doc));
      return 0;
    }
    const { config, warnings } = await loadConfig(abs);
    const n = config.cameras.length;
    if (!values['no-model-check']) {
      if (!existsSync(config.model.path)) {
        console.error(`${abs}: ${missingModelMessage(config.model.path)} (or pass --no-model-check)`);
        return 1;
      }
      // The file's sha256 against its manifest, as 'bestshot run' checks it before loading.
      try {
        checkModelFile(config.model.path, config.model.manifest);
      } catch (err) {
        // A wrong file, or a manifest that cannot be read: said as the --load-model check says it.
        const e = err as Error & { code?: string };
        console.error(`${abs}: model: ${e.code ? `[${e.code}] ` : ''}${e.message}`);
        return 1;
      }
    }
    const unusable = [
      ...missingRecordings(config).map((m) => ({ key: m.key, problem: `no such file: ${m.file}` })),
      ...unsupportedRecordings(config),
      // The TLS files bestshot run reads at start (it exits 1 on them): the OTA self-check must not pass them.
      ...tlsFileProblems(config.upload),
    ];
    if (unusable.length > 0) {
      for (const m of unusable) console.error(`${abs}: ${m.key}: ${m.problem}`);
      return 1;
    }
    // The model load before the verdict: OK is the OTA self-check's pass, grepped for, so it is
    // said only once everything, the load included, passed (it used to come before a load error).
    let modelOk: string | undefined;
    if (values['load-model']) {
      try {
        const detector = await Detector.create({ ...detectorOptions(config.model), warmupRuns: 1, logger: (m) => console.error(`model: ${m}`) });
        modelOk = `model OK ${detector.modelPath} (provider ${detector.provider}${detector.sha256 ? `, sha256 ${detector.sha256.slice(0, 16)}…` : ''})`;
        await detector.close();
      } catch (err) {
        const e = err as Error & { code?: string };
        console.error(`${abs}: model: ${e.code ? `[${e.code}] ` : ''}${e.message}`);
        return 1;
      }
    }
    console.error(`OK ${abs} (version ${config.version}, ${n} camera${n === 1 ? '' : 's'}: ${config.cameras.map((c) => c.id).join(', ')})`);
    for (const w of warnings) console.error(`warning: ${w}`);
    if (modelOk !== undefined) console.error(modelOk);
    if (!values.quiet) {
      const safe = redact(config);
      process.stdout.write(values.json ? `${JSON.stringify(safe, null, 2)}\n` : stringify(safe));
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigValidationError) {
      const sorted = [...err.issues].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
      for (const i of sorted) {
        const where = i.line !== undefined ? `${abs}:${i.line}:${i.column ?? 1}` : abs;
        console.error(`${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`);
      }
      console.error(`${err.issues.length} error${err.issues.length === 1 ? '' : 's'}`);
      return 1;
    }
    if (err instanceof ConfigError) {
      console.error(`${abs}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

export const command: Command = { summary: 'validate a config file', usage, run };
