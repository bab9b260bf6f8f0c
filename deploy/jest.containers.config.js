// The container tier (`npm run test:containers`): the images built and run with podman (or docker),
// the compose file up behind its edge, the rendered manifests under `podman play kube`. Not part of
// `npm test`: its first run builds every image (minutes on two cores) and it needs a container engine.
module.exports = {
  displayName: 'containers',
  preset: '../jest.preset.js',
  testMatch: ['<rootDir>/containers/**/*.containers.ts'],
  maxWorkers: 1,
  testTimeout: 120000,
};
