/**
 * JSON Schema (draft 2020-12) validation with ajv, the one validator of the
 * project's wire contracts (schemas/*.json). `compileSchemaFile` turns a
 * schema file into a function returning every violation as a JSON Pointer
 * and a stable one-line message ("expected integer but received 'x' of type
 * string", "is required", "is not allowed"), the wording tests assert.
 *
 * ajv runs in strict mode: a keyword it does not know makes compiling throw,
 * so no rule added to a schema is silently ignored. `additionalProperties:
 * false` is enforced by exact key comparison, so keys such as `__proto__`
 * or `constructor` are refused like any other unknown key.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describeValue } from './errors.js';

// ajv-formats is CommonJS: its default export is module.exports.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON Schema document (draft 2020-12); the keywords are ajv's to check. */
export interface JsonSchema {
  $schema?: string;
  $id?: string;
  [keyword: string]: unknown;
}

/** One violation: a JSON Pointer to the value and what was wrong. */
export interface SchemaViolation {
  path: string;
  message: string;
}

export type Validator = (value: unknown) => SchemaViolation[];

const quote = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

function describeError(e: ErrorObject): SchemaViolation {
  const at = e.instancePath || '';
  const p = e.params as Record<string, unknown>;
  const received = describeValue(e.data);
  const n = e.data as number;
  switch (e.keyword) {
    case 'required':
      return { path: `${at}/${String(p.missingProperty)}`, message: 'is required' };
    case 'additionalProperties':
      return { path: `${at}/${String(p.additionalProperty)}`, message: 'is not allowed' };
    case 'type':
      return { path: at || '/', message: `expected ${String(p.type).split(',').join(' or ')} but received ${received}` };
    case 'const':
      return { path: at || '/', message: `expected ${quote(p.allowedValue)} but received ${received}` };
    case 'enum':
      return { path: at || '/', message: `expected one of ${(p.allowedValues as unknown[]).map(quote).join(', ')} but received ${received}` };
    case 'minLength':
    case 'maxLength':
      return {
        path: at || '/',
        message: `expected ${e.keyword === 'minLength' ? 'at least' : 'at most'} ${String(p.limit)} characters but received ${(e.data as string).length}`,
      };
    case 'minItems':
    case 'maxItems':
      return {
        path: at || '/',
        message: `expected ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(p.limit)} items but received ${(e.data as unknown[]).length}`,
      };
    case 'pattern':
      return { path: at || '/', message: `expected a string matching ${String(p.pattern)} but received ${received}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path: at || '/', message: `expected a number ${String(p.comparison)} ${String(p.limit)} but received ${n}` };
    default:
      return { path: at || '/', message: e.message ?? e.keyword };
  }
}

/**
 * Compile a schema into a validator returning every violation (at most
 * `maxViolations`, default 20). `refs` are further schemas its `$ref`s may
 * name by `$id` (schemas/event.v1.json refers to package.v1.json). Throws
 * when the schema uses a keyword ajv does not know, or a $ref it cannot resolve.
 */
export function compileJsonSchema(schema: JsonSchema, maxViolations = 20, refs: readonly JsonSchema[] = []): Validator {
  const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true, allowUnionTypes: true });
  addFormats(ajv);
  for (const r of refs) ajv.addSchema(r);
  const validate = ajv.compile(schema);
  return (value: unknown): SchemaViolation[] => {
    if (validate(value)) return [];
    return (validate.errors ?? []).slice(0, maxViolations).map(describeError);
  };
}

/** Read and compile a schema file (see compileJsonSchema). */
export function compileSchemaFile(path: string, maxViolations = 20, refFiles: readonly string[] = []): Validator {
  const read = (p: string): JsonSchema => JSON.parse(readFileSync(p, 'utf8')) as JsonSchema;
  return compileJsonSchema(read(path), maxViolations, refFiles.map(read));
}

/** "/width: expected integer but received 'x' of type string; /tracks: is required" */
export function formatViolations(violations: readonly SchemaViolation[]): string {
  return violations.map((v) => `${v.path}: ${v.message}`).join('; ');
}
