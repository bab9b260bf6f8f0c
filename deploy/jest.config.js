module.exports = {
  displayName: 'deploy',
  preset: '../jest.preset.js',
  coverageDirectory: '../coverage/deploy',
  // One suite runs the real `npm run build` (esbuild, the worker bundle, Vite).
  testTimeout: 240000,
};
