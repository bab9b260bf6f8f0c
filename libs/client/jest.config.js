module.exports = {
  displayName: 'client',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/client',
  // The unit specs start their own local HTTP/WebSocket servers; the tests against the whole relay
  // (and the packed package) are apps/e2e's client*.e2e.spec.ts.
  globalSetup: undefined,
};
