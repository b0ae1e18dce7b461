/**
 * A copy of a config safe to print or log: every field the schema marks as a
 * secret becomes '[redacted]', and passwords inside URLs (rtsp://user:pw@…)
 * become '***'.
 */
import { maskUrlCredentials, REDACTED } from '../log.js';
import type { Field } from './schema.js';
import { CONFIG_SCHEMA } from './sections.js';
import type { BestshotConfig } from './types.js';

export { REDACTED };

function walk(field: Field | undefined, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (field === undefined) return structuredClone(value);
  switch (field.kind) {
    case 'secret':
      return REDACTED;
    case 'string':
      return typeof value === 'string' && field.protocols ? maskUrlCredentials(value) : value;
    case 'array':
      return Array.isArray(value) ? value.map((v) => walk(field.items, v)) : value;
    case 'record':
      return typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(field.values, v)])) : value;
    case 'object':
      return typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(field.fields[k], v)]))
        : value;
    case 'union': {
      if (typeof value !== 'object') return value;
      const variant = field.variants[String((value as { type?: unknown }).type)];
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'type' ? v : walk(variant?.fields[k], v)]));
    }
    default:
      return structuredClone(value);
  }
}

/** A deep copy of `config` with secrets hidden; the input is not changed. */
export function redact(config: BestshotConfig): BestshotConfig {
  return walk(CONFIG_SCHEMA, config) as BestshotConfig;
}
