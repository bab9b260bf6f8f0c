/*
 * The server under test (or the baseline server), run as a CHILD PROCESS of a benchmark so that the
 * load generator / WebSocket clients never share an event loop (or a thread) with the server.
 *
 *   node --expose-gc --import tsx bench/lib/server-child.ts <mode>
 *
 * Modes:
 *   standalone  the real product: startStandalone(parseStandaloneEnv({...}), logger) on port 0, LOG_LEVEL silent
 *   express     bare express 5: express.json() + POST /api/v1/sandboxes/:id/events(/batch) → 200 {ok:true},
 *               POST /api/v1/sandboxes/:id/messages → 200 {ok:true}, GET /api/v1/sandboxes/:id/messages → 200 []
 *   ws          bare `ws` WebSocketServer on an http.Server: POST /publish/<entityId> with a frame as body is
 *               sent as a text frame to every socket subscribed to that id (or subscribed to no id)
 *
 * The parent talks to it over the IPC channel: the child sends {type:'ready', url}; the parent sends
 * {id, cmd:'stats'|'cpu'|'close'} and gets {id, ...} back. `stats` forces GC first (--expose-gc), then reports
 * process.memoryUsage(), VmRSS from /proc/self/status, process.cpuUsage() and the connected socket count;
 * `cpu` reports process.cpuUsage() and the socket count without touching the heap; `loop` reports the event-loop
 * delay (p50/p99/max ms) since the previous `loop` and resets it.
 * Nothing here is imported by the product.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

type Command = { id: number; cmd: 'stats' | 'cpu' | 'loop' | 'close' };

const mode = process.argv[2];
const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/sandbox_relay_bench';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

let socketCount: () => number = () => 0;

function send(message: unknown): void {
  process.send?.(message);
}

function vmRssKb(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) : NaN;
}

async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i += 1) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The services' documented switch for their per-sandbox rate limits (0 = none). */
const NO_RATE_LIMITS = { RATE_LIMIT_EVENTS_PER_WINDOW: '0', RATE_LIMIT_MESSAGES_PER_WINDOW: '0' };

async function startStandaloneMode(): Promise<{ url: string; close: () => Promise<unknown> }> {
  const { startStandalone, parseStandaloneEnv } = await import('@sandbox-relay/standalone');
  const { createLogger } = await import('@sandbox-relay/service-kit');
  const extra = JSON.parse(process.env.BENCH_STANDALONE_ENV ?? '{}') as Record<string, string>;
  const env = parseStandaloneEnv({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    // A few sandbox ids carry the whole load: the per-sandbox rate limits (a guard against a runaway
    // agent) would turn the run into a benchmark of 429s.
    ...NO_RATE_LIMITS,
    ...extra,
  });
  const logger = createLogger({ name: 'bench-standalone', level: 'silent' });
  const standalone = await startStandalone(env, logger);
  let sockets = 0;
  standalone.server.on('upgrade', (_req, socket) => {
    sockets += 1;
    socket.once('close', () => (sockets -= 1));
  });
  socketCount = () => sockets;
  return { url: standalone.url, close: () => standalone.close() };
}

/**
 * The ingest service alone, composed as its Deployment runs it (`composeIngest`, what apps/ingest/src/main.ts
 * serves): its module on one port and, with OMOIOS_BRIDGE (on by default), its own subscriber connection taking
 * in the original's bus, which carries back every event this ingest publishes there.
 */
async function startIngestMode(): Promise<{ url: string; close: () => Promise<unknown> }> {
  const { composeIngest, parseIngestEnv } = await import('@sandbox-relay/ingest');
  const { createLogger, hostModules, serverUrl } = await import('@sandbox-relay/service-kit');
  const env = parseIngestEnv({
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    ...NO_RATE_LIMITS,
  });
  const { server, close } = await hostModules(
    await composeIngest(env, createLogger({ name: 'bench-ingest', level: 'silent' })),
  );
  return { url: serverUrl(server), close };
}

async function startExpressMode(): Promise<{ url: string; close: () => Promise<unknown> }> {
  const { default: express } = await import('express');
  const app = express();
  app.use(express.json({ limit: '16mb' }));
  app.post('/api/v1/sandboxes/:sandboxId/events', (_req, res) => {
    res.status(200).json({ ok: true });
  });
  app.post('/api/v1/sandboxes/:sandboxId/events/batch', (_req, res) => {
    res.status(200).json({ ok: true });
  });
  app.post('/api/v1/sandboxes/:sandboxId/messages', (_req, res) => {
    res.status(200).json({ ok: true });
  });
  app.get('/api/v1/sandboxes/:sandboxId/messages', (_req, res) => {
    res.set('cache-control', 'no-store').json([]);
  });
  const server = http.createServer(app);
  return listenOn(server);
}

async function startWsMode(): Promise<{ url: string; close: () => Promise<unknown> }> {
  const { WebSocketServer } = await import('ws');
  type Socket = import('ws').WebSocket;
  // Same WebSocketServer options as the gateway.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 4 * 1024 });
  const byId = new Map<string, Set<Socket>>();
  const unkeyed = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const id = decodeURIComponent((req.url ?? '').split('/')[2] ?? '');
      const frame = Buffer.concat(chunks).toString('utf8');
      const keyed = byId.get(id);
      if (keyed) for (const ws of keyed) ws.send(frame);
      for (const ws of unkeyed) ws.send(frame);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://bare');
    const ids = (url.searchParams.get('entity_ids') ?? '').split(',').filter(Boolean);
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (ids.length === 0) unkeyed.add(ws);
      for (const id of ids) {
        let set = byId.get(id);
        if (!set) byId.set(id, (set = new Set()));
        set.add(ws);
      }
      ws.on('error', () => undefined);
      ws.on('close', () => {
        unkeyed.delete(ws);
        for (const id of ids) byId.get(id)?.delete(ws);
      });
    });
  });
  socketCount = () => wss.clients.size;
  const started = await listenOn(server);
  return {
    url: started.url,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await started.close();
    },
  };
}

async function listenOn(server: http.Server): Promise<{ url: string; close: () => Promise<unknown> }> {
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function main(): Promise<void> {
  const starters: Record<string, () => Promise<{ url: string; close: () => Promise<unknown> }>> = {
    standalone: startStandaloneMode,
    ingest: startIngestMode,
    express: startExpressMode,
    ws: startWsMode,
  };
  const start = mode ? starters[mode] : undefined;
  if (!start) throw new Error(`unknown mode ${mode}; expected one of ${Object.keys(starters).join(', ')}`);
  const server = await start();
  // Event-loop delay of this process (a bench-side diagnostic: tells a busy/blocked loop from waiting on I/O).
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: Command) => {
    void (async () => {
      if (message.cmd === 'loop') {
        send({
          id: message.id,
          p50: loopDelay.percentile(50) / 1e6,
          p99: loopDelay.percentile(99) / 1e6,
          max: loopDelay.max / 1e6,
        });
        loopDelay.reset();
      } else if (message.cmd === 'cpu') {
        send({ id: message.id, cpu: process.cpuUsage(), sockets: socketCount() });
      } else if (message.cmd === 'stats') {
        await collectGarbage();
        send({
          id: message.id,
          memory: process.memoryUsage(),
          vmRssKb: vmRssKb(),
          cpu: process.cpuUsage(),
          sockets: socketCount(),
        });
      } else if (message.cmd === 'close') {
        await server.close();
        send({ id: message.id, closed: true });
        setImmediate(() => process.exit(0));
      }
    })();
  });
  send({ type: 'ready', url: server.url, pid: process.pid });
}

main().catch((error: unknown) => {
  console.error(`[server-child ${mode}]`, error);
  process.exit(1);
});
