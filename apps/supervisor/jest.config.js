module.exports = {
  displayName: 'supervisor',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/supervisor',
};
