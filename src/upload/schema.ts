/**
 * The package metadata schema (schemas/package.v1.json, JSON Schema draft
 * 2020-12) and a small validator for the subset of keywords that file uses.
 * No dependency: the edge and the reference receiver validate the same file.
 * A keyword outside the subset makes compileSchema throw, so the validator
 * never silently ignores a rule someone adds to the schema.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeValue } from '../errors.js';
import { PROJECT_ROOT } from '../paths.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The subset of JSON Schema 2020-12 understood here. */
export interface JsonSchema {
  $schema?: string;
  $id?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  title?: string;
  description?: string;
  type?: JsonType | JsonType[];
  const?: JsonValue;
  enum?: JsonValue[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

type JsonType = 'null' | 'boolean' | 'object' | 'array' | 'number' | 'integer' | 'string';

const KNOWN_KEYWORDS = new Set([
  '$schema', '$id', '$ref', '$defs', 'title', 'description', 'type', 'const', 'enum', 'properties', 'required',
  'additionalProperties', 'items', 'minItems', 'maxItems', 'minLength', 'maxLength', 'pattern', 'minimum',
  'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
]);

/** One violation: a JSON Pointer to the value and what was wrong. */
export interface SchemaViolation {
  path: string;
  message: string;
}

export type Validator = (value: unknown) => SchemaViolation[];

/** The schema id written into every package's `schema` field. */
export const PACKAGE_SCHEMA_ID = 'bestshot.package/v1';
export const PACKAGE_SCHEMA_FILE = join(PROJECT_ROOT, 'schemas', 'package.v1.json');

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function matchesType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'null': return value === null;
    case 'boolean': return typeof value === 'boolean';
    case 'object': return typeOf(value) === 'object';
    case 'array': return Array.isArray(value);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'string': return typeof value === 'string';
  }
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const quote = (v: JsonValue): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

function checkKeywords(schema: JsonSchema, where: string): void {
  for (const key of Object.keys(schema)) {
    if (!KNOWN_KEYWORDS.has(key)) throw new Error(`Unsupported JSON Schema keyword '${key}' at ${where || '/'}`);
  }
  for (const [name, sub] of Object.entries(schema.$defs ?? {})) checkKeywords(sub, `${where}/$defs/${name}`);
  for (const [name, sub] of Object.entries(schema.properties ?? {})) checkKeywords(sub, `${where}/properties/${name}`);
  if (typeof schema.additionalProperties === 'object') checkKeywords(schema.additionalProperties, `${where}/additionalProperties`);
  if (schema.items) checkKeywords(schema.items, `${where}/items`);
}

/** Compile a schema (subset above) into a validator returning every violation (at most `maxViolations`, default 20). */
export function compileSchema(root: JsonSchema, maxViolations = 20): Validator {
  checkKeywords(root, '');
  const patterns = new Map<string, RegExp>();
  const resolve = (ref: string): JsonSchema => {
    const m = /^#\/\$defs\/([A-Za-z0-9_-]+)$/.exec(ref);
    const target = m ? root.$defs?.[m[1]!] : undefined;
    if (!target) throw new Error(`Unresolvable $ref '${ref}'`);
    return target;
  };

  return (value: unknown): SchemaViolation[] => {
    const out: SchemaViolation[] = [];
    const fail = (path: string, message: string): void => {
      if (out.length < maxViolations) out.push({ path: path || '/', message });
    };
    const visit = (schema: JsonSchema, v: unknown, path: string): void => {
      if (out.length >= maxViolations) return;
      if (schema.$ref !== undefined) visit(resolve(schema.$ref), v, path);
      if (schema.type !== undefined) {
        const types = Array.isArray(schema.type) ? schema.type : [schema.type];
        if (!types.some((t) => matchesType(v, t))) {
          fail(path, `expected ${types.join(' or ')} but received ${describeValue(v)}`);
          return;
        }
      }
      if (schema.const !== undefined && !jsonEqual(v, schema.const)) {
        fail(path, `expected ${quote(schema.const)} but received ${describeValue(v)}`);
      }
      if (schema.enum !== undefined && !schema.enum.some((e) => jsonEqual(v, e))) {
        fail(path, `expected one of ${schema.enum.map(quote).join(', ')} but received ${describeValue(v)}`);
      }
      if (typeof v === 'string') {
        if (schema.minLength !== undefined && v.length < schema.minLength) fail(path, `expected at least ${schema.minLength} characters but received ${v.length}`);
        if (schema.maxLength !== undefined && v.length > schema.maxLength) fail(path, `expected at most ${schema.maxLength} characters but received ${v.length}`);
        if (schema.pattern !== undefined) {
          let re = patterns.get(schema.pattern);
          if (!re) patterns.set(schema.pattern, (re = new RegExp(schema.pattern, 'u')));
          if (!re.test(v)) fail(path, `expected a string matching ${schema.pattern} but received ${describeValue(v)}`);
        }
      }
      if (typeof v === 'number') {
        if (schema.minimum !== undefined && !(v >= schema.minimum)) fail(path, `expected a number >= ${schema.minimum} but received ${v}`);
        if (schema.maximum !== undefined && !(v <= schema.maximum)) fail(path, `expected a number <= ${schema.maximum} but received ${v}`);
        if (schema.exclusiveMinimum !== undefined && !(v > schema.exclusiveMinimum)) fail(path, `expected a number > ${schema.exclusiveMinimum} but received ${v}`);
        if (schema.exclusiveMaximum !== undefined && !(v < schema.exclusiveMaximum)) fail(path, `expected a number < ${schema.exclusiveMaximum} but received ${v}`);
      }
      if (Array.isArray(v)) {
        if (schema.minItems !== undefined && v.length < schema.minItems) fail(path, `expected at least ${schema.minItems} items but received ${v.length}`);
        if (schema.maxItems !== undefined && v.length > schema.maxItems) fail(path, `expected at most ${schema.maxItems} items but received ${v.length}`);
        if (schema.items) v.forEach((item, i) => visit(schema.items!, item, `${path}/${i}`));
      }
      if (typeOf(v) === 'object') {
        const obj = v as Record<string, unknown>;
        for (const key of schema.required ?? []) {
          if (!Object.prototype.hasOwnProperty.call(obj, key)) fail(`${path}/${key}`, 'is required');
        }
        for (const [key, child] of Object.entries(obj)) {
          const sub = schema.properties?.[key];
          if (sub) visit(sub, child, `${path}/${key}`);
          else if (schema.additionalProperties === false) fail(`${path}/${key}`, 'is not allowed');
          else if (typeof schema.additionalProperties === 'object') visit(schema.additionalProperties, child, `${path}/${key}`);
        }
      }
    };
    visit(root, value, '');
    return out;
  };
}

let packageValidator: Validator | undefined;

/** The parsed schemas/package.v1.json. */
export function loadPackageSchema(): JsonSchema {
  return JSON.parse(readFileSync(PACKAGE_SCHEMA_FILE, 'utf8')) as JsonSchema;
}

/** Validate package metadata against schemas/package.v1.json (compiled once). */
export function validatePackageMetadata(metadata: unknown): SchemaViolation[] {
  packageValidator ??= compileSchema(loadPackageSchema());
  return packageValidator(metadata);
}

/** "/width: expected integer but received 'x' of type string; /tracks: is required" */
export function formatViolations(violations: SchemaViolation[]): string {
  return violations.map((v) => `${v.path}: ${v.message}`).join('; ');
}
