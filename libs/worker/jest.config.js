module.exports = {
  displayName: 'worker',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/worker',
  // The worker talks to the relay over HTTP only; its integration tests start their own local HTTP
  // server, so they need none of the Redis/PostgreSQL bootstrap the preset's globalSetup runs.
  globalSetup: undefined,
};
