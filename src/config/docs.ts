/** Render the schema as a Markdown reference table (docs/config.md, `check-config --schema`). */
import { describeDefault, describeField, schemaRows, type Field } from './schema.js';
import { CONFIG_SCHEMA } from './sections.js';

function typeOf(f: Field): string {
  if (f.kind === 'object') return 'mapping';
  if (f.kind === 'array' && (f.items.kind === 'object' || f.items.kind === 'union')) return 'list';
  const unit = f.kind === 'number' && f.unit ? ` (${f.unit})` : '';
  return describeField(f) + unit + (f.kind === 'secret' ? ' — secret' : '');
}

export function renderSchemaMarkdown(schema: Field = CONFIG_SCHEMA): string {
  const lines = ['| key | type | default | description |', '|---|---|---|---|'];
  for (const row of schemaRows(schema)) {
    if (row.path.startsWith('defaults.') && row.path.split('.').length > 2) continue;
    const cell = (s: string): string => s.replace(/\|/g, '\\|');
    lines.push(`| \`${cell(row.path)}\` | ${cell(typeOf(row.field))} | ${cell(describeDefault(row.field))} | ${cell(row.field.description)} |`);
  }
  return lines.join('\n');
}
