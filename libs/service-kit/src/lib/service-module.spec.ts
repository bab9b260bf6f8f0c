import express from 'express';
import pino from 'pino';
import { Readiness } from './readiness';
import { serverUrl } from './server';
import { hostModules, type ServiceModule } from './service-module';

const logger = pino({ level: 'silent' });

function recordingModule(
  name: string,
  calls: string[],
  options: { path?: string; failing?: boolean } = {},
): ServiceModule {
  const router = express.Router();
  if (options.path) router.get(options.path, (_req, res) => void res.json({ from: name }));
  return {
    name,
    router,
    attach: () => void calls.push(`${name}:attach`),
    readiness: [
      {
        name: `${name}-check`,
        check: async () => {
          if (options.failing) throw new Error('down');
        },
      },
    ],
    start: async () => void calls.push(`${name}:start`),
    shutdown: {
      beforeHttpClose: [{ name: `${name}:before`, run: () => void calls.push(`${name}:before`) }],
      afterHttpClose: [{ name: `${name}:after`, run: () => void calls.push(`${name}:after`) }],
    },
  };
}

describe('hostModules', () => {
  it('serves every module on one port, starts them in order once listening, and shuts down around the port closing', async () => {
    const calls: string[] = [];
    const readiness = new Readiness(1_000, logger).add({ name: 'postgres', check: async () => undefined });
    const { server, close } = await hostModules({
      logger,
      readiness,
      modules: [recordingModule('a', calls, { path: '/a' }), recordingModule('b', calls, { path: '/b' })],
      listen: { host: '127.0.0.1', port: 0 },
      shutdownTimeoutMs: 1_000,
      beforeListen: async () => void calls.push('process:beforeListen'),
      onListening: (listening) => void calls.push(`process:listening:${listening.listening}`),
      afterStart: async () => void calls.push('process:afterStart'),
      beforeHttpClose: [{ name: 'subscriber', run: () => void calls.push('process:before') }],
      afterHttpClose: [{ name: 'redis', run: () => void calls.push(`process:after:http-open=${server.listening}`) }],
    });
    const url = serverUrl(server);
    expect(await (await fetch(`${url}/a`)).json()).toEqual({ from: 'a' });
    expect(await (await fetch(`${url}/b`)).json()).toEqual({ from: 'b' });
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { status: string; checks: Record<string, unknown> };
    expect(ready.status).toBe('ready');
    expect(Object.keys(ready.checks)).toEqual(['postgres', 'a-check', 'b-check']);
    expect(calls).toEqual([
      'a:attach',
      'b:attach',
      'process:beforeListen',
      'process:listening:true',
      'a:start',
      'b:start',
      'process:afterStart',
    ]);

    calls.length = 0;
    expect(await close()).toBe(true);
    expect(readiness.draining).toBe(true);
    expect(calls).toEqual([
      'a:before',
      'b:before',
      'process:before',
      'a:after',
      'b:after',
      'process:after:http-open=false',
    ]);
  });

  it("is not ready while a module's check fails", async () => {
    const { server, close } = await hostModules({
      logger,
      readiness: new Readiness(1_000, logger),
      modules: [recordingModule('a', [], { failing: true })],
      listen: { host: '127.0.0.1', port: 0 },
      shutdownTimeoutMs: 1_000,
      afterHttpClose: [],
    });
    try {
      expect((await fetch(`${serverUrl(server)}/readyz`)).status).toBe(503);
    } finally {
      await close();
    }
  });
});
