module.exports = {
  displayName: 'message-queue',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/message-queue',
};
