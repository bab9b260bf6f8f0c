module.exports = {
  displayName: 'github',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/github',
};
