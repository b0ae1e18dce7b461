/** bestshot track --mot <sequence dir> --out <result.txt>: ByteTrack over a MOTChallenge det.txt (T2). */
import { UsageError } from '../../errors.js';
import { writeMotResults } from '../../mot/io.js';
import { trackMotSequence } from '../../mot/track-sequence.js';
import { BYTETRACK_OPTIONS, resolveTrackerOptions, type TrackerOptions } from '../../track/options.js';
import { existsSync, statSync } from 'node:fs';
import type { Command } from '../commands.js';
import { existingFile, numberArg, parseArgs, writableFolder } from '../args.js';
import { dirname, join, resolve } from 'node:path';

/** TrackerOptions names as the flags that set them, for the tracker's own range errors. */
const FLAG_OF: Record<string, string> = {
  trackThresh: '--track-thresh',
  newTrackThresh: '--new-track-thresh',
  tentativeMinHits: '--tentative-min-hits',
  lowThresh: '--low-thresh',
  matchThreshold: '--match-thresh',
  trackBuffer: '--track-buffer',
  frameRate: '--frame-rate',
  minBoxArea: '--min-box-area',
};

const usage = `Usage: bestshot track --mot <sequence dir> --out <result.txt> [options]

Runs the tracker on <sequence dir>/det/det.txt (MOTChallenge CSV; no images
needed) and writes MOTChallenge results (frame,id,left,top,width,height,score,-1,-1,-1).
Frame count, frame rate and size come from <sequence dir>/seqinfo.ini when present.

Options (defaults in brackets):
  --preset bytetrack     start from the seed's tracker: ByteTrack exactly (same-class
                         matching, xyah Kalman, trackThresh 0.5, no graded births);
                         the options below still apply on top
  --track-thresh X       high/low detection split [0.6]
  --new-track-thresh X   score to start a track confirmed on its next match [track-thresh + 0.1]
  --tentative-min-hits N matches a track born between track-thresh and new-track-thresh
                         needs before it is confirmed; 0 = such boxes start no track [3]
  --kalman xywh|xyah     Kalman state: BoT-SORT's width/height or ByteTrack's aspect [xywh]
  --low-thresh X         ignore detections at or below [0.1]
  --match-thresh X       first-stage similarity (IoU × score) to exceed [0.2]
  --track-buffer N       frames a lost track is kept, at 30 fps [30]
  --frame-rate F         override seqinfo.ini's frameRate [seqinfo or 30]
  --min-box-area A       do not write tracks of at most this area [0]
  --no-fuse-score        match on IoU alone (upstream's mot20 mode)
  --nsa                  NSA Kalman: measurement noise × (1 − detection score)
  --lost-matching joint|after|cascade  first association of lost tracks: with the
                         tracked ones (ByteTrack), after them, or DeepSORT's cascade [joint]
  --output filtered|detection  box written: Kalman estimate (upstream) or the matched detection [filtered]`;

export const command: Command = {
  summary: "run the tracker on a MOTChallenge sequence's det.txt",
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        mot: { type: 'string' },
        out: { type: 'string' },
        'track-thresh': { type: 'string' },
        'new-track-thresh': { type: 'string' },
        'tentative-min-hits': { type: 'string' },
        kalman: { type: 'string' },
        preset: { type: 'string' },
        'low-thresh': { type: 'string' },
        'match-thresh': { type: 'string' },
        'track-buffer': { type: 'string' },
        'frame-rate': { type: 'string' },
        'min-box-area': { type: 'string' },
        'no-fuse-score': { type: 'boolean', default: false },
        nsa: { type: 'boolean', default: false },
        'lost-matching': { type: 'string' },
        output: { type: 'string', default: 'filtered' },
      },
    });
    // What is missing first, as 'receiver' says a missing --dir: the usage alone named nothing.
    if (!values.mot || !values.out) {
      const missing = [...(values.mot ? [] : ['--mot']), ...(values.out ? [] : ['--out'])];
      console.error(`bestshot track: ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} required\n\n${usage}`);
      return 2;
    }
    if (values.output !== 'filtered' && values.output !== 'detection') {
      throw new UsageError(`Expected 'filtered' or 'detection' for --output but received '${values.output}'`);
    }
    if (values.preset !== undefined && values.preset !== 'bytetrack') {
      throw new UsageError(`Expected 'bytetrack' for --preset but received '${values.preset}'`);
    }
    if (values.kalman !== undefined && values.kalman !== 'xywh' && values.kalman !== 'xyah') {
      throw new UsageError(`Expected 'xywh' or 'xyah' for --kalman but received '${values.kalman}'`);
    }
    const lostMatching = values['lost-matching'];
    if (lostMatching !== undefined && lostMatching !== 'joint' && lostMatching !== 'after' && lostMatching !== 'cascade') {
      throw new UsageError(`Expected 'joint', 'after' or 'cascade' for --lost-matching but received '${lostMatching}'`);
    }
    const tracker: TrackerOptions = values.preset === 'bytetrack' ? { ...BYTETRACK_OPTIONS } : {};
    const set = <K extends keyof TrackerOptions>(key: K, v: TrackerOptions[K] | undefined): void => {
      if (v !== undefined) tracker[key] = v;
    };
    set('trackThresh', numberArg('number', 'track-thresh', values['track-thresh']));
    set('newTrackThresh', numberArg('number', 'new-track-thresh', values['new-track-thresh']));
    set('tentativeMinHits', numberArg('non-negative integer', 'tentative-min-hits', values['tentative-min-hits']));
    set('kalman', values.kalman);
    set('lowThresh', numberArg('number', 'low-thresh', values['low-thresh']));
    set('matchThreshold', numberArg('number', 'match-thresh', values['match-thresh']));
    set('trackBuffer', numberArg('number', 'track-buffer', values['track-buffer']));
    set('frameRate', numberArg('number', 'frame-rate', values['frame-rate']));
    set('minBoxArea', numberArg('number', 'min-box-area', values['min-box-area']));
    if (values['no-fuse-score']) tracker.fuseScore = false;
    if (values.nsa) tracker.nsa = true;
    set('lostMatching', lostMatching);
    // The tracker's own ranges, checked before any work and said with the flag's name (exit 2).
    try {
      resolveTrackerOptions(tracker);
    } catch (err) {
      if (!(err instanceof TypeError || err instanceof RangeError)) throw err;
      throw new UsageError(Object.entries(FLAG_OF).reduce((m, [option, flag]) => m.replace(` for ${option} `, ` for ${flag} `), err.message));
    }
    existingFile(join(values.mot, 'det', 'det.txt'), '--mot: a MOTChallenge sequence folder holds det/det.txt');
    if (existsSync(values.out) && statSync(values.out).isDirectory()) throw new UsageError(`--out ${values.out} is a folder: name the result file, e.g. ${join(values.out, 'res.txt')}`);
    writableFolder(dirname(resolve(values.out)), '--out');
    const result = trackMotSequence(values.mot, { tracker, output: values.output });
    for (const w of result.warnings) console.error(`bestshot track: warning: ${w}`);
    // An empty det.txt wrote an empty result and exited 0 ("0 frames … 0 tracks"), which eval-mot then scored as zeros.
    if (result.detections === 0) throw new UsageError(`${join(values.mot, 'det', 'det.txt')} has no detections: nothing to track, no result written`);
    writeMotResults(values.out, result.rows);
    const ids = new Set(result.rows.map((r) => r.id)).size;
    const total = result.updateMs.reduce((a, b) => a + b, 0);
    console.log(`${result.numFrames} frames at ${result.frameRate} fps, ${result.rows.length} boxes, ${ids} tracks → ${values.out}`);
    console.log(`update(): ${(total / Math.max(1, result.numFrames)).toFixed(3)} ms/frame mean`);
    return 0;
  },
};
