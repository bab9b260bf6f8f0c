const preset = require('../../jest.preset.js');

module.exports = {
  displayName: 'worker',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/worker',
  // The worker talks to the relay over HTTP only; its integration tests start their own local HTTP
  // server, so they need none of the Redis/PostgreSQL bootstrap the preset's globalSetup runs.
  globalSetup: undefined,
  // The Claude Agent SDK ships ESM only (`sdk.mjs`, with `import.meta.url`); the Claude adapter's spec
  // runs it for real, so it is turned into CommonJS by esbuild (ts-jest keeps .mjs as ESM).
  transform: {
    '/node_modules/@anthropic-ai/claude-agent-sdk/.+\\.mjs$': '<rootDir>/jest.esm-transform.js',
    ...preset.transform,
  },
  transformIgnorePatterns: ['node_modules/(?!(@anthropic-ai/claude-agent-sdk)/)'],
};
