import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONFIG_SCHEMA, describeField, parseBytes, schemaRows } from '../../src/config/index.js';
import { formatPath, suggestKey, validateField, type Field, type ValidateContext } from '../../src/config/schema.js';

function ctx(partial = false): ValidateContext {
  return { baseDir: '/base', env: {}, issues: [], warnings: [], partial };
}

describe('config schema DSL', () => {
  test('formatPath quotes keys that are not identifiers', () => {
    assert.equal(formatPath(['cameras', 0, 'source', 'path']), 'cameras[0].source.path');
    assert.equal(formatPath(['model', 'perClassScore', 'traffic light']), 'model.perClassScore["traffic light"]');
    assert.equal(formatPath([]), '');
  });

  test('parseBytes', () => {
    assert.equal(parseBytes('512MiB'), 536870912);
    assert.equal(parseBytes('1.5 GiB'), 1610612736);
    assert.equal(parseBytes('10kb'), 10000);
    assert.equal(parseBytes('7'), 7);
    assert.equal(parseBytes(0), 0);
    assert.equal(parseBytes(-1), undefined);
    assert.equal(parseBytes(1.5), undefined);
    assert.equal(parseBytes('12 parsecs'), undefined);
    assert.equal(parseBytes(true), undefined);
  });

  test('suggestKey finds typos and prefixes, not unrelated words', () => {
    const keys = ['matchThreshold', 'trackBuffer', 'trackThresh', 'newTrackThresh', 'lowThresh'];
    assert.equal(suggestKey('trackbufer', keys), 'trackBuffer');
    assert.equal(suggestKey('matchThresh', keys), 'matchThreshold');
    assert.equal(suggestKey('colour', keys), undefined);
  });

  test('describeField phrases', () => {
    const n = (o: object): Field => ({ kind: 'number', description: '', ...o }) as Field;
    assert.equal(describeField(n({ min: 0, exclusiveMin: true })), 'positive number');
    assert.equal(describeField(n({ integer: true, min: 0 })), 'non-negative integer');
    assert.equal(describeField(n({ min: 0, max: 1 })), 'number between 0 and 1');
    assert.equal(describeField(n({ integer: true, min: 1 })), 'integer >= 1');
    assert.equal(describeField(n({ max: 3 })), 'number <= 3');
    assert.equal(describeField({ kind: 'string', enum: ['a', 'b'], description: '' }), "one of 'a', 'b'");
  });

  test('partial mode fills no defaults and demands nothing', () => {
    const field = CONFIG_SCHEMA.fields.defaults;
    const c = ctx(true);
    assert.deepEqual(validateField(field!, { tracker: { trackBuffer: 5 } }, ['defaults'], c), { tracker: { trackBuffer: 5 } });
    assert.deepEqual(c.issues, []);
  });

  test('YAML null for a section means absent; null for a scalar is an error', () => {
    const c = ctx();
    const r = validateField(CONFIG_SCHEMA.fields.log!, null, ['log'], c);
    assert.deepEqual(r, { level: 'info', format: 'auto' });
    validateField(CONFIG_SCHEMA.fields.stateDir!, null, ['stateDir'], c);
    assert.deepEqual(
      c.issues.map((i) => `${i.path}: ${i.message}`),
      ['stateDir: Expected path but received null'],
    );
  });

  test('non-finite numbers are rejected', () => {
    const c = ctx();
    validateField({ kind: 'number', description: '' }, Infinity, ['x'], c);
    assert.equal(c.issues[0]!.message, 'Expected number but received Infinity of type number');
  });

  test('every schema key has a description', () => {
    const rows = schemaRows(CONFIG_SCHEMA);
    assert.ok(rows.length > 100);
    for (const r of rows) assert.ok(r.field.description.length > 0, `${r.path} has no description`);
  });
});
