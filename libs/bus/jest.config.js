module.exports = {
  displayName: 'bus',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/bus',
};
