// Jest transform for ESM-only packages ts-jest leaves as ESM (it keeps `.mjs` files ESM): esbuild
// rewrites them to CommonJS, with `import.meta.url` pointing at the file itself, so the package runs
// unchanged under jest's CommonJS runtime. Used for @anthropic-ai/claude-agent-sdk (see jest.config.js).
const { transformSync } = require('esbuild');
const { createHash } = require('node:crypto');

module.exports = {
  getCacheKey(source, filename) {
    return createHash('sha256').update('esm-to-cjs-v1').update(filename).update(source).digest('hex');
  },
  process(source, filename) {
    const result = transformSync(source, {
      loader: 'js',
      format: 'cjs',
      target: 'node20',
      sourcefile: filename,
      define: { 'import.meta.url': '__jestImportMetaUrl' },
      banner: 'var __jestImportMetaUrl = require("node:url").pathToFileURL(__filename).href;',
      logLevel: 'silent',
    });
    return { code: result.code };
  },
};
