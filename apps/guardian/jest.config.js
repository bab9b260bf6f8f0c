module.exports = {
  displayName: 'guardian',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/guardian',
};
