module.exports = {
  displayName: 'store',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/store',
};
