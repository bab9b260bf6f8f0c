import path from 'node:path';
import { defineConfig } from 'vite';

const root = path.dirname(new URL(import.meta.url).pathname);
const workspace = path.resolve(root, '../..');

/**
 * The dashboard: static files the gateway serves at `/` (`dist/apps/dashboard`). `npx vite` in this
 * folder serves it with hot reload and forwards the relay's edge to `npm start` (127.0.0.1:18000).
 */
export default defineConfig({
  root,
  base: '/',
  resolve: {
    // The page imports only the event-type catalogue and the text cuts as values (the schemas' zod
    // stays out of the bundle); everything else from contracts is `import type`, erased at build.
    alias: [
      {
        find: /^@sandbox-relay\/contracts\/event-types$/,
        replacement: path.join(workspace, 'libs/contracts/src/lib/event-types.ts'),
      },
      {
        find: /^@sandbox-relay\/contracts\/event-readers$/,
        replacement: path.join(workspace, 'libs/contracts/src/lib/event-readers.ts'),
      },
      {
        find: /^@sandbox-relay\/contracts\/text$/,
        replacement: path.join(workspace, 'libs/contracts/src/lib/text.ts'),
      },
      { find: /^@sandbox-relay\/contracts$/, replacement: path.join(workspace, 'libs/contracts/src/index.ts') },
      // The relay's client, from source (zod-free: it takes only types from contracts).
      { find: /^@sandbox-relay\/client$/, replacement: path.join(workspace, 'libs/client/src/index.ts') },
    ],
  },
  build: {
    outDir: path.join(workspace, 'dist/apps/dashboard'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': { target: 'http://127.0.0.1:18000', ws: true } },
  },
  logLevel: 'warn',
});
