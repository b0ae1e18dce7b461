/** U2: what a draining queue says about the time left (src/cli/progress.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drainEtaS } from '../../src/cli/progress.js';

test('U2 drainEtaS: the rate packages left at over the interval; none when nothing left', () => {
  assert.equal(drainEtaS(44, 34, 5), 17, '10 in 5 s: 2/s, 34 left');
  assert.equal(drainEtaS(35, 34, 5), 170, 'a slow endpoint: 1 per 5 s');
  // The endpoint took the packages and never answered: no ETA, however high sendHz is.
  assert.equal(drainEtaS(34, 34, 5), undefined);
  assert.equal(drainEtaS(34, 0, 5), 0);
  assert.equal(drainEtaS(34, 30, 0), undefined);
});
