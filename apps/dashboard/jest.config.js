// The renderers are pure functions of an event: tested under jest in Node. The page itself is tested
// in a real browser by apps/e2e (dashboard.e2e.spec.ts).
module.exports = {
  displayName: 'dashboard',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/dashboard',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
