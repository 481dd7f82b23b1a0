/**
 * Renders CONFIG_VARIABLES as the README's markdown configuration table, so the docs cannot drift
 * from the code (test/unit/config-table.test.ts compares the README with this output).
 * Must not read the environment or write files.
 */
import { CONFIG_VARIABLES } from './variables.js';

/** Marks the generated table in README.md; everything between them is replaced by `renderConfigTable()`. */
export const CONFIG_TABLE_START = '<!-- config-table:start -->';
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

/** A default that is a value (`./fleet-q.db`, `0.8`) rather than words (`the host name`): shown as code. */
const LITERAL = /^[\w./:-]+$/;

/** A markdown cell: `|` would end the cell, and a newline the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The table of every `FLEET_Q_*` variable: name, default, meaning. Ends with a newline. */
export function renderConfigTable(): string {
  const rows = CONFIG_VARIABLES.map((v) => {
    const fallback = v.default === '' ? '—' : LITERAL.test(v.default) ? `\`${v.default}\`` : v.default;
    return `| \`${v.variable}\` | ${cell(fallback)} | ${cell(v.description)} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n') + '\n';
}
