module.exports = {
  displayName: 'branch-workflow',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/branch-workflow',
};
