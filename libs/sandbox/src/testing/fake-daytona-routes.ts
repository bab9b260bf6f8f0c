import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { CreateSandbox, ToolboxProxyUrl } from '@daytona/api-client';
import type {
  CreateSessionRequest,
  GitCloneRequest,
  Session,
  SessionCommandLogsResponse,
  SessionExecuteRequest,
  SessionExecuteResponse,
  WorkDirResponse,
} from '@daytona/toolbox-api-client';
import {
  advance,
  createRejection,
  daytonaErrorBody,
  newFakeSandbox,
  setState,
  type FakeDaytonaStore,
  type FakeSandbox,
} from './fake-daytona-state';
import { parseMultipart } from './multipart';

/**
 * The HTTP surface the SDK 0.218.0 really calls for what the providers use. Control plane
 * (`@daytona/api-client` SandboxApi) under /api, the toolbox (`@daytona/toolbox-api-client`)
 * under /toolbox/<sandbox id>, as the SDK builds it from the sandbox's `toolboxProxyUrl`.
 */
export function createFakeDaytonaApp(store: FakeDaytonaStore, origin: () => string): Express {
  const app = express();
  app.use(express.json());
  app.use(express.raw({ type: 'multipart/form-data', limit: '64mb' }));
  app.use((req, _res, next) => {
    store.requests.push({
      method: req.method,
      path: req.path,
      query: flatQuery(req),
      authorization: req.get('authorization'),
      body: recordedBody(req),
    });
    next();
  });
  app.use((req, res, next) => {
    if (req.get('authorization') === `Bearer ${store.apiKey}`) return next();
    fail(res, 401, 'Unauthorized');
  });
  mountSandboxApi(app, store, () => `${origin()}/toolbox`);
  mountToolboxFiles(app, store);
  mountToolboxProcess(app, store);
  app.use((req, res) => fail(res, 404, `Cannot ${req.method} ${req.path}`));
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => fail(res, 500, error.message));
  return app;
}

function mountSandboxApi(app: Express, store: FakeDaytonaStore, toolboxProxyUrl: () => string): void {
  app.post('/api/sandbox', (req, res) => {
    const body = req.body as CreateSandbox;
    const configured = store.behaviour.createError;
    if (configured) return fail(res, configured.status, configured.message);
    const rejection = createRejection(body);
    if (rejection) return fail(res, 400, rejection);
    if (body.name && store.find(body.name)) return fail(res, 409, `Sandbox with name ${body.name} already exists`);
    const sandbox = newFakeSandbox(body, toolboxProxyUrl(), store.behaviour);
    store.sandboxes.set(sandbox.dto.id, sandbox);
    res.status(200).json(sandbox.dto);
  });
  app.get(
    '/api/sandbox/:idOrName',
    withSandbox(store, (sandbox, _req, res) => {
      advance(sandbox, store.behaviour);
      res.json(sandbox.dto);
    }),
  );
  app.get(
    '/api/sandbox/:idOrName/toolbox-proxy-url',
    withSandbox(store, (_sandbox, _req, res) => {
      const answer: ToolboxProxyUrl = { url: toolboxProxyUrl() };
      res.json(answer);
    }),
  );
  app.post(
    '/api/sandbox/:idOrName/stop',
    withSandbox(store, (sandbox, _req, res) => {
      const mode = store.behaviour.stop;
      if (mode === 'hang') return; // never answered; the server's close() drops the socket
      setState(sandbox, mode === 'stuck' ? 'stopping' : 'stopped');
      res.json(sandbox.dto);
    }),
  );
  app.delete(
    '/api/sandbox/:idOrName',
    withSandbox(store, (sandbox, _req, res) => {
      if (store.behaviour.deleteConflicts > 0) {
        store.behaviour.deleteConflicts -= 1;
        return fail(res, 409, 'Sandbox state change in progress');
      }
      setState(sandbox, 'destroyed');
      res.json(sandbox.dto);
    }),
  );
}

const TOOLBOX = '/toolbox/:idOrName';

function mountToolboxFiles(app: Express, store: FakeDaytonaStore): void {
  const base = TOOLBOX;
  app.get(
    `${base}/work-dir`,
    running(store, (_sandbox, _req, res) => {
      const answer: WorkDirResponse = { dir: store.behaviour.workDir };
      res.json(answer);
    }),
  );
  app.post(
    `${base}/git/clone`,
    running(store, (sandbox, req, res) => {
      sandbox.clones.push(req.body as GitCloneRequest);
      const configured = store.behaviour.cloneError;
      if (configured) return fail(res, configured.status, configured.message);
      res.status(200).end();
    }),
  );
  app.post(
    `${base}/files/bulk-upload`,
    running(store, (sandbox, req, res) => {
      const parts = parseMultipart(req.body as Buffer, req.get('content-type'));
      for (const [index, part] of parts.entries()) {
        if (!part.name.endsWith('.file')) continue;
        const destination = parts
          .find((candidate) => candidate.name === part.name.replace(/\.file$/, '.path'))
          ?.content.toString();
        sandbox.uploads.set(destination ?? `unnamed-${index}`, part.content);
      }
      res.status(200).end();
    }),
  );
}

function mountToolboxProcess(app: Express, store: FakeDaytonaStore): void {
  const base = TOOLBOX;
  app.post(
    `${base}/process/session`,
    running(store, (sandbox, req, res) => {
      const { sessionId } = req.body as CreateSessionRequest;
      if (sandbox.sessions.has(sessionId)) return fail(res, 409, `session ${sessionId} already exists`);
      sandbox.sessions.set(sessionId, []);
      res.status(201).end();
    }),
  );
  app.post(
    `${base}/process/session/:sessionId/exec`,
    running(store, (sandbox, req, res) => {
      const commands = sandbox.sessions.get(String(req.params['sessionId']));
      if (!commands) return fail(res, 404, 'session not found');
      const request = req.body as SessionExecuteRequest;
      const command = {
        id: randomUUID(),
        command: request.command,
        runAsync: Boolean(request.runAsync ?? request.async),
        output: '',
      };
      commands.push(command);
      const answer: SessionExecuteResponse = command.runAsync
        ? { cmdId: command.id }
        : { cmdId: command.id, exitCode: 0, output: '', stdout: '', stderr: '' };
      res.json(answer);
    }),
  );
  app.get(
    `${base}/process/session/:sessionId`,
    running(store, (sandbox, req, res) => {
      const sessionId = String(req.params['sessionId']);
      const commands = sandbox.sessions.get(sessionId);
      if (!commands) return fail(res, 404, 'session not found');
      const answer: Session = { sessionId, commands: commands.map(({ id, command }) => ({ id, command })) };
      res.json(answer);
    }),
  );
  app.get(
    `${base}/process/session/:sessionId/command/:commandId/logs`,
    running(store, (sandbox, req, res) => {
      const command = sandbox.sessions
        .get(String(req.params['sessionId']))
        ?.find(({ id }) => id === req.params['commandId']);
      if (!command) return fail(res, 404, 'command not found');
      const answer: SessionCommandLogsResponse = { output: command.output, stdout: command.output, stderr: '' };
      res.json(answer);
    }),
  );
}

type SandboxHandler = (sandbox: FakeSandbox, req: Request, res: Response) => void;

function withSandbox(store: FakeDaytonaStore, handler: SandboxHandler) {
  return (req: Request, res: Response): void => {
    const idOrName = String(req.params['idOrName']);
    const sandbox = store.find(idOrName);
    if (!sandbox) return fail(res, 404, `Sandbox with ID or name ${idOrName} not found`);
    handler(sandbox, req, res);
  };
}

/** The toolbox only answers for a started sandbox, as the real proxy does. */
function running(store: FakeDaytonaStore, handler: SandboxHandler) {
  return withSandbox(store, (sandbox, req, res) => {
    if (sandbox.dto.state !== 'started') return fail(res, 409, `Sandbox is not running (state: ${sandbox.dto.state})`);
    handler(sandbox, req, res);
  });
}

function fail(res: Response, status: number, message: string): void {
  res.status(status).json(daytonaErrorBody(status, message, STATUS_CODES[status] ?? 'Error'));
}

function flatQuery(req: Request): Record<string, string> {
  return Object.fromEntries(
    Object.entries(req.query as Record<string, unknown>).map(([key, value]) => [key, String(value)]),
  );
}

function recordedBody(req: Request): unknown {
  if (Buffer.isBuffer(req.body)) {
    return parseMultipart(req.body, req.get('content-type')).map((part) => ({
      name: part.name,
      filename: part.filename,
      content: part.content.toString('utf8'),
    }));
  }
  return req.body;
}
