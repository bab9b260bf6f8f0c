// The lint step of `npm test` (tools/test.mjs runs it after the boundary check): ESLint over the
// TypeScript sources (eslint.config.mjs; errors fail, warnings such as long functions are printed), then
// `prettier --check`.
//
// Prettier checks every script and source file (prose, manifests, data and generated files are in
// .prettierignore); `npm run format` fixes what it finds.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

export const FORMATTED = ['.prettierrc', '**/*.{ts,mts,cts,mjs,cjs,js}'];

function run(command, args) {
  const result = spawnSync(process.execPath, [path.join(root, 'node_modules', command), ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  return result.status ?? 1;
}

const eslint = run('eslint/bin/eslint.js', ['.']);
const prettier = run('prettier/bin/prettier.cjs', ['--check', ...FORMATTED]);
if (eslint !== 0) process.stderr.write('[lint] ESLint found errors (above); warnings alone do not fail the run\n');
if (prettier !== 0) process.stderr.write('[lint] not formatted (above): npx prettier --write <file>\n');
process.exit(eslint !== 0 || prettier !== 0 ? 1 : 0);
