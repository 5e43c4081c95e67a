// Lint rules that keep the architecture honest: the core imports nothing with side effects,
// promises are never left floating, and type-only imports say so.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'packages/web/vite.config.ts',
      'scripts/**',
      '**/*.mjs',
      '**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['packages/**/*.ts', 'packages/**/*.tsx'],
    ignores: ['packages/web/src/ui/**'],
    languageOptions: { parserOptions: { projectService: true } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The console's browser code is only in tsconfig.app.json (no emit), so name both projects.
    files: ['packages/web/src/ui/**/*.ts', 'packages/web/src/ui/**/*.tsx'],
    languageOptions: {
      parserOptions: { project: ['packages/web/tsconfig.json', 'packages/web/tsconfig.app.json'] },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // node:test's test()/describe() return promises the runner awaits itself.
    files: ['packages/**/*.test.ts', 'packages/**/contract.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    // The scheduling core is pure: no Node built-ins, no other packages, no clock, no randomness.
    files: ['packages/core/src/**/*.ts'],
    ignores: ['packages/core/src/**/*.test.ts', 'packages/core/src/**/bench/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['node:*', '@suanli/*', 'fs', 'path', 'os', 'child_process'] },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'time is snapshot.now in the core' },
        { object: 'Math', property: 'random', message: 'the core is deterministic' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'time is an input' },
      ],
    },
  },
);
