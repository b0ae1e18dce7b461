/**
 * The package metadata schema (schemas/package.v1.json, JSON Schema draft
 * 2020-12), the cloud contract: validated with ajv (src/json-schema.ts), the
 * same file at the edge and at the reference receiver.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSchemaFile, type JsonSchema, type Validator, type SchemaViolation } from '../json-schema.js';
import { PROJECT_ROOT } from '../paths.js';

export { formatViolations } from '../json-schema.js';

/** The schema id written into every package's `schema` field. */
export const PACKAGE_SCHEMA_ID = 'bestshot.package/v1';
export const PACKAGE_SCHEMA_FILE = join(PROJECT_ROOT, 'schemas', 'package.v1.json');

let packageValidator: Validator | undefined;

/** The parsed schemas/package.v1.json. */
export function loadPackageSchema(): JsonSchema {
  return JSON.parse(readFileSync(PACKAGE_SCHEMA_FILE, 'utf8')) as JsonSchema;
}

/**
 * Compile the package validator now rather than at the first package. The
 * compile holds the event loop for ~100–150 ms on a 2-core unit (ajv builds
 * the validator's code); at the first package that stalled every camera's
 * frames in flight at once (docs/performance.md, "Several cameras").
 */
export function compilePackageValidator(): void {
  packageValidator ??= compileSchemaFile(PACKAGE_SCHEMA_FILE);
}

/** Validate package metadata against schemas/package.v1.json (compiled once). */
export function validatePackageMetadata(metadata: unknown): SchemaViolation[] {
  compilePackageValidator();
  return packageValidator!(metadata);
}
