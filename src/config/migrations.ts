/**
 * Config file versions and the migrations between them (STYLE 5). A file
 * names its format with `version:`; absent means the current version. Older
 * files are migrated step by step before validation, and every change made is
 * reported as a warning so the user can update the file
 * (`bestshot check-config --migrate` prints the migrated YAML).
 */
import { ConfigError, describeValue } from '../errors.js';
import { CURRENT_VERSION } from './sections.js';

type Doc = Record<string, unknown>;

export interface Migration {
  from: number;
  to: number;
  description: string;
  /** Returns the migrated document; `notes` receives one line per change. */
  migrate(doc: Doc, notes: string[]): Doc;
}

function isObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Move `obj[from]` to `obj[to]`, refusing when both are present. */
export function renameKey(obj: Doc, from: string, to: string, where: string, notes: string[]): void {
  if (!(from in obj)) return;
  const at = (k: string): string => (where === '' ? k : `${where}.${k}`);
  if (to in obj) throw new ConfigError(at(from), `Both '${from}' (old name) and '${to}' are set; keep only '${to}'`);
  obj[to] = obj[from];
  delete obj[from];
  notes.push(`renamed ${at(from)} to ${at(to)}`);
}

/**
 * Version 0 (the prototype's format) → 1:
 * `detector` → `model` (`detector.threads` → `model.intraOpThreads`),
 * `cameras[].fps` → `cameras[].captureHz`, `upload.url` → `upload.endpoint`,
 * `cache` → `queue` (`cache.file` → `queue.path`, `cache.capacity` → `queue.maxPackages`).
 */
const V0_TO_V1: Migration = {
  from: 0,
  to: 1,
  description: 'detector→model, cameras[].fps→captureHz, upload.url→endpoint, cache→queue',
  migrate(input, notes) {
    const doc: Doc = structuredClone(input);
    renameKey(doc, 'detector', 'model', '', notes);
    if (isObject(doc.model)) renameKey(doc.model, 'threads', 'intraOpThreads', 'model', notes);
    if (Array.isArray(doc.cameras)) {
      doc.cameras.forEach((cam, i) => {
        if (isObject(cam)) renameKey(cam, 'fps', 'captureHz', `cameras[${i}]`, notes);
      });
    }
    if (isObject(doc.upload)) renameKey(doc.upload, 'url', 'endpoint', 'upload', notes);
    renameKey(doc, 'cache', 'queue', '', notes);
    if (isObject(doc.queue)) {
      renameKey(doc.queue, 'file', 'path', 'queue', notes);
      renameKey(doc.queue, 'capacity', 'maxPackages', 'queue', notes);
    }
    doc.version = 1;
    return doc;
  },
};

/** The migrations table, oldest first; each step raises the version by one. */
export const MIGRATIONS: readonly Migration[] = [V0_TO_V1];

/**
 * Migrate a parsed document to CURRENT_VERSION. Returns the migrated copy,
 * the version it was written in, and one note per change.
 */
export function migrate(doc: Doc): { doc: Doc; fromVersion: number; notes: string[] } {
  const raw = doc.version;
  if (raw === undefined) return { doc, fromVersion: CURRENT_VERSION, notes: [] };
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > CURRENT_VERSION) {
    throw new ConfigError(
      'version',
      `Expected integer between 0 and ${CURRENT_VERSION} but received ${describeValue(raw)} (this bestshot reads config versions 0 to ${CURRENT_VERSION})`,
    );
  }
  const notes: string[] = [];
  let current = doc;
  for (let v = raw; v < CURRENT_VERSION; v++) {
    const step = MIGRATIONS.find((m) => m.from === v);
    if (!step) throw new ConfigError('version', `No migration from version ${v}`);
    const stepNotes: string[] = [];
    current = step.migrate(current, stepNotes);
    notes.push(...stepNotes.map((n) => `version ${step.from} → ${step.to}: ${n}`));
  }
  return { doc: current, fromVersion: raw, notes };
}
