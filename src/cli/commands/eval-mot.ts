/** bestshot eval-mot --gt gt.txt --res result.txt: HOTA, CLEAR MOT and identity metrics as TrackEval computes them. */
import { InputError, UsageError } from '../../errors.js';
import { dirname, join } from 'node:path';
import { MAX_MOT_FRAME, type MotRow, framesOutsideWarning, readMotFile, readSeqInfo } from '../../mot/io.js';
import { type MotMetrics, detectBenchmark, evaluateMot, mot17KeepsGt } from '../../mot/evaluate.js';
import type { Command } from '../commands.js';
import { existingFile, numberArg, parseArgs } from '../args.js';

const usage = `Usage: bestshot eval-mot --gt <gt.txt> --res <result.txt> [--benchmark MOT15|MOT17] [--frames N] [--json]

Scores a MOTChallenge result file against ground truth exactly as TrackEval's
MotChallenge2DBox does: HOTA (α 0.05…0.95), CLEAR MOT and identity metrics (IoU 0.5),
plus fragmentation: distinct tracks per ground-truth object matched by CLEAR, and
the share of those objects split into more than one track (each track costs an upload). MOT17 (also MOT16/20 gt with a class column):
only pedestrians (class 1) with flag 1 count, tracker boxes on distractor
classes (2, 7, 8, 12) are removed. MOT15: no class handling. The mode is guessed
from the gt file unless --benchmark is given; --benchmark MOT17 on a gt with no
pedestrian rows (MOT15 gt has no class column) is refused. The frame count comes from
--frames, else seqinfo.ini next to the gt folder, else the last frame seen.`;

export function formatMetrics(m: MotMetrics): string {
  // A ratio over no objects (no ground-truth object matched) is undefined: 'n/a', not 'NaN'.
  const f = (x: number): string => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));
  return [
    `HOTA ${f(m.HOTA)}  DetA ${f(m.DetA)}  AssA ${f(m.AssA)}  LocA ${f(m.LocA)}`,
    `MOTA ${f(m.MOTA)}  MOTP ${f(m.MOTP)}  IDF1 ${f(m.IDF1)}  IDP ${f(m.IDP)}  IDR ${f(m.IDR)}`,
    `IDSW ${m.IDSW}  FP ${m.FP}  FN ${m.FN}  TP ${m.TP}  MT ${m.MT}  PT ${m.PT}  ML ${m.ML}  Frag ${m.Frag}`,
    `Recall ${f(m.recall)}  Precision ${f(m.precision)}  GT ids ${m.gtIds}  tracker ids ${m.trackerIds}`,
    `Tracks per GT object ${f(m.tracksPerObject)}  GT objects split ${m.fragSplit} of ${m.fragObjects} (${f(m.splitShare)} %)`,
  ].join('\n');
}

/** The first (frame, id) on more than one row, with how many; null when none. */
function repeatedId(rows: readonly MotRow[]): { frame: number; id: number; count: number } | null {
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(`${r.frame}:${r.id}`, (seen.get(`${r.frame}:${r.id}`) ?? 0) + 1);
  for (const [key, count] of seen) {
    if (count > 1) {
      const [frame, id] = key.split(':').map(Number);
      return { frame: frame!, id: id!, count };
    }
  }
  return null;
}

export const command: Command = {
  summary: 'MOTA, IDF1, ID switches, FP, FN, MT/ML of a tracker result',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        gt: { type: 'string' },
        res: { type: 'string' },
        benchmark: { type: 'string' },
        frames: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    // What is missing first, as 'receiver' says a missing --dir: the usage alone named nothing.
    if (!values.gt || !values.res) {
      const missing = [...(values.gt ? [] : ['--gt']), ...(values.res ? [] : ['--res'])];
      console.error(`bestshot eval-mot: ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} required\n\n${usage}`);
      return 2;
    }
    if (values.benchmark !== undefined && values.benchmark !== 'MOT15' && values.benchmark !== 'MOT17') {
      throw new UsageError(`Expected 'MOT15' or 'MOT17' for --benchmark but received '${values.benchmark}'`);
    }
    let numFrames = numberArg('positive integer', 'frames', values.frames);
    // Every frame up to --frames is stepped through: --frames 1e9 ran without end.
    if (numFrames !== undefined && numFrames > MAX_MOT_FRAME) throw new UsageError(`Expected positive integer up to ${MAX_MOT_FRAME} for --frames but received '${values.frames}'`);
    if (numFrames === undefined) {
      numFrames = readSeqInfo(join(dirname(values.gt), '..'))?.seqLength;
    }
    existingFile(values.gt, '--gt');
    existingFile(values.res, '--res');
    const gt = readMotFile(values.gt);
    const res = readMotFile(values.res);
    // TrackEval refuses an id twice in one frame; it was scored here (a result with one id on two boxes read MOTA 100).
    for (const [rows, file, what] of [[gt, values.gt, '--gt'], [res, values.res, '--res']] as const) {
      const dup = repeatedId(rows);
      if (dup !== null) {
        throw new InputError(
          file,
          `id ${dup.id} is on ${dup.count} boxes of frame ${dup.frame} (${what}): an id is one object, once per frame, as TrackEval requires${dup.id === -1 ? ' (id -1 is a det.txt\'s: is this a tracker result?)' : ''}`,
        );
      }
    }
    // Empty inputs printed a table of zeros and exited 0, which read as a score; nothing is scored, so nothing is printed.
    if (gt.length === 0) throw new UsageError(`${values.gt} (--gt) has no rows: there is no ground truth to evaluate against`);
    if (res.length === 0) {
      throw new UsageError(`${values.res} (--res) has no rows: there is no tracker result to evaluate (were it right, every one of the ${gt.length} gt boxes would be a miss)`);
    }
    // Without --frames or seqinfo.ini, the last frame seen (as evaluateMot counts it).
    numFrames ??= [...gt, ...res].reduce((n, r) => Math.max(n, r.frame), 0);
    // Rows outside the sequence's frames are not scored: say so, as track does for det.txt (a 0-based result lost every row of frame 0 silently).
    for (const [rows, file, counts] of [[gt, values.gt, 'a miss (FN)'], [res, values.res, 'a false positive (FP)']] as const) {
      const w = framesOutsideWarning(rows, numFrames, file);
      if (w !== null) console.error(`bestshot eval-mot: warning: ${w}`);
      // A box of no size overlaps nothing: it was silently scored as a miss (gt) or a false positive (result), even against itself.
      const empty = rows.filter((r) => !(r.width > 0 && r.height > 0)).length;
      if (empty > 0) {
        console.error(`bestshot eval-mot: warning: ${file}: ${empty} row${empty === 1 ? '' : 's'} with zero or negative width or height: such a box overlaps nothing, so it counts as ${counts}`);
      }
    }
    if (values.benchmark === 'MOT17' && !mot17KeepsGt(gt)) {
      throw new UsageError(
        `--benchmark MOT17 scores only gt rows of class 1 (column 8) with a non-zero flag (column 7), and ${values.gt} has none (MOT15 gt has no class column): use --benchmark MOT15, or leave --benchmark out to have it guessed`,
      );
    }
    const benchmark = values.benchmark ?? detectBenchmark(gt);
    const m = evaluateMot(gt, res, { benchmark, numFrames });
    if (m.gtDets === 0) {
      const flags = benchmark === 'MOT17' ? 'a 0 in column 7 (the consider flag) or a class other than 1 (pedestrian) in column 8' : 'a 0 in column 7 (the consider flag)';
      throw new UsageError(`no row of ${values.gt} (--gt) is scored: nothing to evaluate (each has ${flags}, or lies outside frames 1..${numFrames}; ${benchmark} preprocessing)`);
    }
    if (values.json) {
      const { hota: _perAlpha, ...flat } = m;
      console.log(JSON.stringify({ benchmark, ...flat }));
    }
    else console.log(`${benchmark} preprocessing, IoU 0.5\n${formatMetrics(m)}`);
    return 0;
  },
};
