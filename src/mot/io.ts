/**
 * MOTChallenge text files: det.txt, gt.txt and tracker results
 * (frame,id,left,top,width,height,conf,class,visibility[,…]; frames 1-based),
 * and seqinfo.ini.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InputError } from '../errors.js';
import { fileKind } from '../file-magic.js';

export interface MotRow {
  frame: number;
  id: number;
  left: number;
  top: number;
  width: number;
  height: number;
  /** det.txt: detection score; gt.txt: the "consider" flag (0 = ignore); results: confidence. */
  conf: number;
  /** gt.txt of MOT16/17/20: class (1 = pedestrian); −1 when absent. */
  classId: number;
  /** gt.txt of MOT16/17/20: visibility ratio; −1 when absent. */
  visibility: number;
}

/** Parse MOTChallenge CSV text. Blank lines are skipped; a malformed line throws with its number. */
export function parseMot(text: string, source = 'input'): MotRow[] {
  return parseMotLines(text, source).map((l) => l.row);
}

/** A parsed row with its 1-based line number and how many columns the line had, for messages. */
interface MotLine {
  row: MotRow;
  line: number;
  columns: number;
}

/**
 * The largest frame number read (9 hours at 30 fps; MOTChallenge sequences
 * have a few thousand). Without seqinfo.ini the frame count is the last frame
 * seen, and every frame up to it is stepped through: one stray row with frame
 * 10000000 ran eval-mot for minutes into gigabytes of memory, and track
 * without end.
 */
export const MAX_MOT_FRAME = 1_000_000;

/** Columns 7–9 as MOTChallenge names them, for the message about a field that is not a number. */
const OPTIONAL_COLUMNS = ['conf', 'class', 'visibility'];

/**
 * A line of the file as a message quotes it: control characters and bytes that are not UTF-8 as
 * '?', and a long one cut. Raw bytes in a message garble the terminal that shows it.
 */
function printable(line: string): string {
  const shown = line.replace(/[\p{Cc}\ufffd]/gu, '?');
  return shown.length <= 120 ? shown : `${shown.slice(0, 100)}… (${line.length} characters)`;
}

function parseMotLines(text: string, source: string): MotLine[] {
  const out: MotLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const fields = line.split(/[,\s]+/);
    // A trailing comma ends the row, it is not a 0 in the next column (Number('') is 0: a gt row
    // ending in ',' read as flag 0 was silently left out of the scoring).
    while (fields.length > 0 && fields[fields.length - 1] === '') fields.pop();
    const f = fields.map((x) => (x === '' ? Number.NaN : Number(x)));
    if (f.length < 6 || f.slice(0, 6).some((x) => !Number.isFinite(x))) {
      throw new InputError(`${source}:${n + 1}`, `expected 'frame,id,left,top,width,height,...' but read '${printable(line)}'`);
    }
    // conf, class and visibility, when given, are numbers: a word there was read as the default (score 1) without a word.
    const bad = f.slice(6, 9).findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new InputError(`${source}:${n + 1}`, `column ${bad + 7} (${OPTIONAL_COLUMNS[bad]}) is '${fields[bad + 6]}', not a number, in '${line}'`);
    }
    if (f[0]! > MAX_MOT_FRAME) {
      throw new InputError(`${source}:${n + 1}`, `frame ${f[0]} is above ${MAX_MOT_FRAME}, the largest frame number read (MOTChallenge frames count images from 1), in '${line}'`);
    }
    const row: MotRow = {
      frame: f[0]!,
      id: f[1]!,
      left: f[2]!,
      top: f[3]!,
      width: f[4]!,
      height: f[5]!,
      conf: f.length > 6 && Number.isFinite(f[6]) ? f[6]! : 1,
      classId: f.length > 7 && Number.isFinite(f[7]) ? f[7]! : -1,
      visibility: f.length > 8 && Number.isFinite(f[8]) ? f[8]! : -1,
    };
    out.push({ row, line: n + 1, columns: f.length });
  }
  return out;
}

export function readMotFile(path: string): MotRow[] {
  return parseMot(readText(path), path);
}

function readText(path: string): string {
  if (!existsSync(path)) throw new InputError(path, 'file not found');
  const bytes = readFileSync(path);
  // An image or other binary file given for a text file: said as what it is. Its first 'line' was
  // echoed into the message, raw bytes that garbled the terminal.
  let text: string | undefined;
  try {
    text = bytes.includes(0) ? undefined : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = undefined; // not UTF-8: no text file of numbers
  }
  const known = fileKind(bytes);
  const kind = known !== undefined && known !== 'an HTML page' ? known : text === undefined ? 'a binary file' : undefined;
  if (kind !== undefined || text === undefined) throw new InputError(path, `is ${kind ?? 'a binary file'}, not a MOTChallenge text file (frame,id,left,top,width,height,... per line)`);
  return text;
}

/** det.txt rows the tracker can take, and what a user should know about the ones it was given. */
export interface MotDetections {
  rows: MotRow[];
  /** One line each, naming the file (and the first line concerned): printed on stderr by the commands. */
  warnings: string[];
}

/**
 * Parse a det.txt for the tracker. Rows whose width or height is not
 * positive are skipped (public det files carry such rows, and a box of no
 * size is nothing to track), with one warning naming the first. Scores:
 * a file without the score column, or with −1 (MOTChallenge's "unknown") on
 * every row, scores every box 1, with a warning, so the tracker keeps them
 * (its thresholds would otherwise drop every −1); other negative scores and
 * scores above 1 are kept as they are, with a warning, since the tracker's
 * thresholds assume 0..1 and no rescaling can be guessed safely.
 */
export function parseMotDetections(text: string, source = 'input'): MotDetections {
  const lines = parseMotLines(text, source);
  const warnings: string[] = [];
  const kept = lines.filter((l) => l.row.width > 0 && l.row.height > 0);
  const skipped = lines.length - kept.length;
  if (skipped > 0) {
    const first = lines.find((l) => !(l.row.width > 0 && l.row.height > 0))!;
    warnings.push(`${source}:${first.line}: ${skipped} box${skipped === 1 ? '' : 'es'} with zero or negative width or height skipped (the first on this line)`);
  }
  const rows = kept.map((l) => l.row);
  const scores = checkScores(kept, source);
  if (scores.unknown) for (const r of rows) r.conf = 1;
  if (scores.warning !== null) warnings.push(scores.warning);
  return { rows, warnings };
}

/** What the scores of det rows call for: a warning, and whether they are all unknown (−1). */
function checkScores(lines: readonly MotLine[], source: string): { unknown: boolean; warning: string | null } {
  const missing = lines.filter((l) => l.columns < 7);
  if (missing.length > 0) {
    return {
      unknown: false,
      warning: `${source}:${missing[0]!.line}: ${missing.length} of ${lines.length} rows have no score column: they are scored 1 (a high-score detection for the tracker)`,
    };
  }
  const scores = lines.map((l) => l.row.conf);
  if (scores.length === 0) return { unknown: false, warning: null };
  if (scores.every((s) => s === -1)) {
    return { unknown: true, warning: `${source}: every score is -1 (unknown): every box is scored 1 (a high-score detection for the tracker)` };
  }
  // A loop, not Math.min(...scores): a MOT20 det.txt has more rows than a call takes arguments.
  const min = scores.reduce((a, b) => Math.min(a, b));
  const max = scores.reduce((a, b) => Math.max(a, b));
  if (max < 0) {
    return {
      unknown: false,
      warning: `${source}: every score is negative (${min} to ${max}): the tracker's thresholds (0.1 and up by default) drop every box; rescale the scores to 0..1, or write -1 in every row if they are unknown`,
    };
  }
  const above = scores.filter((s) => s > 1).length;
  if (above > 0) {
    return {
      unknown: false,
      warning: `${source}: ${above} of ${scores.length} scores are above 1 (up to ${max}): the tracker's thresholds assume 0..1, so each of these counts as high-score; rescale the scores to 0..1 (a 0..100 scale: divide by 100)`,
    };
  }
  return { unknown: false, warning: null };
}

/** {@link parseMotDetections} of a det.txt on disk. */
export function readMotDetections(path: string): MotDetections {
  return parseMotDetections(readText(path), path);
}

/**
 * The warning for det rows outside frames 1..numFrames (groupByFrame drops
 * them): a 0-based file, or one longer than seqinfo.ini's seqLength.
 */
export function framesOutsideWarning(rows: readonly MotRow[], numFrames: number, source: string): string | null {
  const outside = rows.filter((r) => !(r.frame >= 1 && r.frame <= numFrames && Number.isInteger(r.frame)));
  if (outside.length === 0) return null;
  const zeroBased = outside.some((r) => r.frame === 0) ? '; MOTChallenge frames start at 1, so a 0-based file needs 1 added to every frame' : '';
  const lo = outside.reduce((m, r) => Math.min(m, r.frame), Infinity);
  const hi = outside.reduce((m, r) => Math.max(m, r.frame), -Infinity);
  const frames = lo === hi ? `frame ${lo}` : `frames ${lo} to ${hi}`;
  return `${source}: ${outside.length} row${outside.length === 1 ? '' : 's'} outside frames 1..${numFrames} ignored (${frames})${zeroBased}`;
}

/** Format rows as MOTChallenge results: frame,id,left,top,width,height,conf,-1,-1,-1 (2 decimals). */
export function formatMotResults(rows: readonly MotRow[]): string {
  let out = '';
  for (const r of rows) {
    out += `${r.frame},${r.id},${r.left.toFixed(2)},${r.top.toFixed(2)},${r.width.toFixed(2)},${r.height.toFixed(2)},${round(r.conf)},-1,-1,-1\n`;
  }
  return out;
}

function round(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(4);
}

export function writeMotResults(path: string, rows: readonly MotRow[]): void {
  writeFileSync(path, formatMotResults(rows));
}

/** Group rows by frame (1..numFrames); frames outside the range are dropped. */
export function groupByFrame(rows: readonly MotRow[], numFrames: number): MotRow[][] {
  const out: MotRow[][] = Array.from({ length: numFrames }, () => []);
  for (const r of rows) {
    if (r.frame >= 1 && r.frame <= numFrames && Number.isInteger(r.frame)) out[r.frame - 1]!.push(r);
  }
  return out;
}

export interface SeqInfo {
  name?: string;
  frameRate?: number;
  seqLength?: number;
  imWidth?: number;
  imHeight?: number;
}

/** Read `<dir>/seqinfo.ini` if present (keys of the [Sequence] section). */
export function readSeqInfo(dir: string): SeqInfo | null {
  const path = join(dir, 'seqinfo.ini');
  if (!existsSync(path)) return null;
  const info: SeqInfo = {};
  for (const raw of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const m = /^\s*([A-Za-z]+)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m) continue;
    const [, key, value] = m;
    if (key === 'name') info.name = value;
    else if (key === 'frameRate' || key === 'seqLength' || key === 'imWidth' || key === 'imHeight') {
      const n = Number(value);
      if (Number.isFinite(n)) info[key] = n;
    }
  }
  // Every frame up to seqLength is stepped through (see MAX_MOT_FRAME).
  if (info.seqLength !== undefined && info.seqLength > MAX_MOT_FRAME) {
    throw new InputError(path, `seqLength ${info.seqLength} is above ${MAX_MOT_FRAME}, the largest frame count read`);
  }
  return info;
}

/** Facts of MOT15 train sequences whose folders carry no seqinfo.ini (from MOTChallenge's seqinfo files). */
export const MOT15_SEQINFO: Readonly<Record<string, { frameRate: number; imWidth: number; imHeight: number }>> = {
  'ADL-Rundle-6': { frameRate: 30, imWidth: 1920, imHeight: 1080 },
  'ADL-Rundle-8': { frameRate: 30, imWidth: 1920, imHeight: 1080 },
  'ETH-Bahnhof': { frameRate: 14, imWidth: 640, imHeight: 480 },
  'ETH-Pedcross2': { frameRate: 14, imWidth: 640, imHeight: 480 },
  'ETH-Sunnyday': { frameRate: 14, imWidth: 640, imHeight: 480 },
  'KITTI-13': { frameRate: 10, imWidth: 1242, imHeight: 375 },
  'PETS09-S2L1': { frameRate: 7, imWidth: 768, imHeight: 576 },
  'Venice-2': { frameRate: 30, imWidth: 1920, imHeight: 1080 },
};

/**
 * A sequence's frame rate and image size, which replay and eval cannot do
 * without (the size places boxes against the image edge, S3; the rate sets
 * the timeline, A5): seqinfo.ini's, else MOT15_SEQINFO's for a known MOT15
 * folder; an InputError naming seqinfo.ini and what to write there otherwise.
 */
export function sequenceGeometry(dir: string, info: SeqInfo | null): { frameRate: number; width: number; height: number } {
  const known = MOT15_SEQINFO[basename(dir)];
  const frameRate = info?.frameRate ?? known?.frameRate;
  const width = info?.imWidth ?? known?.imWidth;
  const height = info?.imHeight ?? known?.imHeight;
  if (frameRate === undefined || width === undefined || height === undefined) {
    const absent = [frameRate === undefined && 'frameRate', width === undefined && 'imWidth', height === undefined && 'imHeight'].filter((k) => k !== false);
    const missing = info === null ? 'no such file' : `missing: ${absent.join(', ')}`;
    throw new InputError(
      join(dir, 'seqinfo.ini'),
      `frameRate, imWidth and imHeight are needed and not known for this sequence (${missing}): write them there under [Sequence], e.g. frameRate=30, imWidth=1920, imHeight=1080`,
    );
  }
  return { frameRate, width, height };
}
