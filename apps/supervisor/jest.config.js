module.exports = {
  displayName: 'supervisor',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/supervisor',
  // Only pure policy lives here so far (no Redis, no PostgreSQL): skip the preset's bootstrap of both.
  // Remove this line when the service's *.int.spec.ts suites arrive.
  globalSetup: undefined,
};
