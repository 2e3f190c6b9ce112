// ESLint flat config. The one architectural rule: src/dicom/ is the standard only and never
// imports the bridge, the web GUI, the log book or the config.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/dicom/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          group: ['**/bridge/**', '**/web/**', '**/logbook/**', '**/config/**', '**/service/**', '**/app.js', '**/main.js'],
          message: 'src/dicom/ knows only the DICOM standard; the bridge uses it, not the other way round.',
        }],
      }],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
);
