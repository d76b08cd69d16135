// Lint rules: typed TypeScript rules everywhere; workflow code may not import anything that does I/O.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.data/',
      '.tools/',
      'dist/',
      'coverage/',
      'prisma/*/generated/',
      'test-results/',
      'reports/',
      '.stryker-tmp/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    // Workflow code is replayed deterministically in a sandbox: no Node built-ins, databases, HTTP or clients.
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((name) => `node:${name}`)].map((name) => ({
            name,
            message: 'Workflow code must not do I/O.',
          })),
          patterns: [
            {
              group: ['@prisma/*', '**/prisma/**', 'pg', 'express', '@temporalio/client', '@temporalio/worker'],
              message: 'Workflow code must not do I/O.',
            },
            { group: ['**/services/*', '**/lib/databases', '**/api/*'], message: 'Workflow code must not do I/O.' },
          ],
        },
      ],
    },
  },
  {
    // Tests read loosely typed JSON responses.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // A focused or skipped test must never be committed: it would silently narrow what `npm test` proves.
    files: ['test/**/*.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['test', 'it', 'describe'].flatMap((object) =>
          ['only', 'skip'].map((property) => ({
            object,
            property,
            message: `${object}.${property} narrows the suite; remove it before committing.`,
          })),
        ),
      ],
      'no-restricted-globals': [
        'error',
        ...['fit', 'fdescribe', 'xit', 'xtest', 'xdescribe'].map((name) => ({
          name,
          message: `${name} narrows the suite; remove it before committing.`,
        })),
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
  },
  {
    // The storefront and console run in the browser as ES modules: browser globals only, none of Node's.
    files: ['api/public/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'AbortController',
          'FormData',
          'Intl',
          'TextDecoderStream',
          'clearTimeout',
          'crypto',
          'document',
          'fetch',
          'history',
          'location',
          'sessionStorage',
          'setTimeout',
          'window',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
