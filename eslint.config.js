// ESLint (flat config): the recommended JavaScript and typescript-eslint rules, and DESIGN §6's
// import rules as no-restricted-imports, so an editor flags a wrong import as it is typed.
// test/unit/architecture.test.ts checks the same rules (and SQL placement, and cycles) in npm test.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const DRIVERS = 'sqlite|postgres|snowflake|mysql';
const DATABASE_CLIENTS = ['pg', 'better-sqlite3', 'snowflake-sdk', 'mysql2', 'mysql2/promise'];

export default tseslint.config(
  { ignores: ['dist/', '.tmp/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
    rules: {
      // `_`-prefixed names mark deliberately unused parameters and destructured leftovers.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // The dashboard's script runs in the browser.
    files: ['src/http/ui/public/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'fetch', 'sessionStorage', 'URLSearchParams', 'FormData', 'Node'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['machines/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!xstate$)(?!\\./)', message: 'machines/ import only xstate and each other (DESIGN §6): no I/O, no src/.' }] },
      ],
    },
  },
  {
    files: ['src/http/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: DATABASE_CLIENTS.map((name) => ({ name, message: 'src/http/ never talks to a database directly (DESIGN §6).' })),
          patterns: [{ regex: `/store/(${DRIVERS})/|/store/open\\.js$`, message: 'src/http/ never imports a store driver (DESIGN §6): it gets a Store.' }],
        },
      ],
    },
  },
  {
    files: [`src/store/{${DRIVERS.replaceAll('|', ',')}}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^\\.\\./\\.\\./(?!errors\\.js$|ids\\.js$)|^\\.\\./(${DRIVERS})/|^\\.\\./open\\.js$`,
              message: 'A store driver imports only its client library, its folder, the shared store layer, errors.js and ids.js (DESIGN §6).',
            },
          ],
        },
      ],
    },
  },
);
