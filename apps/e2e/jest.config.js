module.exports = {
  displayName: 'e2e',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/e2e',
  // One suite at a time: the suites spawn service processes, kill them, restart a Redis, cut Postgres
  // behind a proxy and measure memory; run side by side they would fight for the same cores.
  maxWorkers: 1,
};
