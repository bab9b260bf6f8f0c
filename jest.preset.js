const nxPreset = require('@nx/jest/preset').default;

module.exports = {
  ...nxPreset,
  // The Nx preset defaults to jsdom, which we neither install nor want: every project here is Node.
  testEnvironment: 'node',
  // libs/client is also a publishable package (its package.json points at dist/): in the repository it
  // is always its source, as the tsconfig paths say, never a stale build that node_modules would find first.
  moduleNameMapper: { '^@sandbox-relay/client$': require('node:path').join(__dirname, 'libs/client/src/index.ts') },
  transform: { '^.+\\.(ts|js|mjs|cjs)$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  // @octokit/rest 22 and jose 6 are ESM-only; ts-jest transpiles their trees to CommonJS (see TOOLCHAIN.md §4).
  transformIgnorePatterns: [
    'node_modules/(?!(jose|@octokit|universal-user-agent|before-after-hook|content-type|json-with-bigint|fast-content-type-parse)/)',
  ],
  // Integration suites share one database per jest worker; make sure Redis and Postgres listen and
  // the migrations are applied before any suite runs.
  globalSetup: require.resolve('./tools/test-global-setup.js'),
  testTimeout: 20000,
};
