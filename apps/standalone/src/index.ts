export { startStandalone, type Standalone } from './standalone';
export { StandaloneEnv, parseStandaloneEnv } from './env';
