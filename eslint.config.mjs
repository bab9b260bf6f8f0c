// ESLint for the TypeScript sources (`npm run lint`; `npm test` runs it through tools/lint.mjs: errors
// fail the run, warnings are printed). Layout is Prettier's job (.prettierrc), not ESLint's; module
// boundaries are tools/check-boundaries.mjs's.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Test code: suites, e2e support, test doubles, benchmarks. */
const TEST_CODE = [
  '**/*.spec.ts',
  '**/spec-support.ts',
  'apps/e2e/**/*.ts',
  'libs/testing/**/*.ts',
  '**/testing/**/*.ts',
  'deploy/containers/**/*.ts',
  'bench/**/*.ts',
];

export default defineConfig(
  {
    ignores: [
      '**/node_modules/**',
      'dist/**',
      'tmp/**',
      'coverage/**',
      '.nx/**',
      'libs/store/src/generated/**',
      'tools/prisma-migrate/.generated/**',
    ],
  },
  {
    files: ['**/*.ts', '**/*.mts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Long functions are where controller, view and state end up in one closure: a warning to read, not a gate.
      'max-lines-per-function': ['warn', { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true }],
      // A leading underscore says "unused on purpose": a key left out of a copy, express's 4-argument error handler.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // jose's types are declared locally (libs/auth/src/lib/jose.d.ts) and referenced by path.
      '@typescript-eslint/triple-slash-reference': ['error', { path: 'always', types: 'prefer-import', lib: 'always' }],
    },
  },
  {
    // Tests read untyped JSON answers, and a suite's describe() is as long as the suite.
    files: TEST_CODE,
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'max-lines-per-function': 'off' },
  },
);
