/** Numeric command-line options: one parser, one wording, exit 2 (src/cli/args.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { numberArg, parseArgs } from '../../src/cli/args.js';
import { UsageError } from '../../src/errors.js';

const refused = (message: string) => (err: unknown) => err instanceof UsageError && err.code === 'ERR_USAGE' && err.message === message;

test('numberArg: each kind accepts its range and refuses the rest with the option and the text typed', () => {
  assert.equal(numberArg('number between 0 and 1', 'score', '0.25'), 0.25);
  assert.equal(numberArg('number between 0 and 1', 'score', '1'), 1);
  // 1.5 used to pass (the range fell through to the sign checks) and failed later, in the detector, with exit 1.
  assert.throws(() => numberArg('number between 0 and 1', 'score', '1.5'), refused("Expected number between 0 and 1 for --score but received '1.5'"));
  assert.throws(() => numberArg('number between 0 and 1', 'score', '-0.1'), refused("Expected number between 0 and 1 for --score but received '-0.1'"));
  assert.equal(numberArg('positive integer', 'frames', '3'), 3);
  assert.throws(() => numberArg('positive integer', 'frames', '0'), refused("Expected positive integer for --frames but received '0'"));
  assert.throws(() => numberArg('positive integer', 'frames', '2.5'), refused("Expected positive integer for --frames but received '2.5'"));
  assert.equal(numberArg('non-negative integer', 'threads', '0'), 0);
  assert.throws(() => numberArg('non-negative integer', 'threads', '-1'), refused("Expected non-negative integer for --threads but received '-1'"));
  assert.equal(numberArg('positive number', 'hz', '0.5'), 0.5);
  assert.throws(() => numberArg('positive number', 'hz', ' '), refused("Expected positive number for --hz but received ' '"));
  assert.equal(numberArg('number', 'offset', '-4'), -4);
  assert.equal(numberArg('positive integer', 'frames', undefined, 7), 7);
});

test('parseArgs: a negative number after an option that takes a value is its value, so the range check names it', () => {
  const options = { frames: { type: 'string' }, threads: { type: 'string', short: 't' }, json: { type: 'boolean' } } as const;
  assert.deepEqual({ ...parseArgs({ args: ['a.jpg', '--frames', '-1', '-t', '-.5', '--json'], options, allowPositionals: true }).values }, {
    frames: '-1',
    threads: '-.5',
    json: true,
  });
  // After '--' nothing is an option; a dash that is not a number stays node's "ambiguous" refusal.
  assert.deepEqual(parseArgs({ args: ['--', '--frames', '-1'], options, allowPositionals: true }).positionals, ['--frames', '-1']);
  assert.throws(() => parseArgs({ args: ['--frames', '-x'], options }), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
  // A boolean option takes no value: the number is an unknown option, as before.
  assert.throws(() => parseArgs({ args: ['--json', '-1'], options }), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
});
