import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SandboxState } from '@daytona/api-client';
import { createFakeDaytonaApp } from './fake-daytona-routes';
import {
  DEFAULT_BEHAVIOUR,
  FakeDaytonaStore,
  setState,
  type FakeDaytonaBehaviour,
  type FakeSandbox,
  type RecordedRequest,
} from './fake-daytona-state';

export type { FakeDaytonaBehaviour, FakeSandbox, RecordedRequest } from './fake-daytona-state';

export interface FakeDaytonaServerOptions {
  /** The only key the fake accepts (as `Authorization: Bearer <key>`); others get 401. */
  apiKey?: string;
  behaviour?: Partial<FakeDaytonaBehaviour>;
}

/**
 * A local stand-in for the Daytona API and toolbox, listening on 127.0.0.1 on a free port, that
 * the real @daytonaio/sdk talks to over real sockets. Records every request for assertions.
 */
export class FakeDaytonaServer {
  private constructor(
    private readonly server: Server,
    private readonly store: FakeDaytonaStore,
  ) {}

  static async start(options: FakeDaytonaServerOptions = {}): Promise<FakeDaytonaServer> {
    const store = new FakeDaytonaStore(options.apiKey ?? 'fake-daytona-key', {
      ...DEFAULT_BEHAVIOUR,
      ...options.behaviour,
    });
    let origin = '';
    const server = createServer(createFakeDaytonaApp(store, () => origin));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return new FakeDaytonaServer(server, store);
  }

  get apiKey(): string {
    return this.store.apiKey;
  }

  /** What to pass as `apiUrl` to the SDK / DaytonaProvider. */
  get apiUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api`;
  }

  /** Mutable: change a knob and the next request sees it. */
  get behaviour(): FakeDaytonaBehaviour {
    return this.store.behaviour;
  }

  get requests(): readonly RecordedRequest[] {
    return this.store.requests;
  }

  /** Requests whose method matches and whose path matches the pattern (in arrival order). */
  requestsTo(method: string, path: RegExp): RecordedRequest[] {
    return this.store.requests.filter((request) => request.method === method && path.test(request.path));
  }

  /** By Daytona id or by name (our sandbox ids are Daytona names). */
  sandbox(idOrName: string): FakeSandbox | undefined {
    return this.store.find(idOrName);
  }

  setState(idOrName: string, state: SandboxState): void {
    setState(this.mustFind(idOrName), state);
  }

  /** Appends to the output of the latest command of a session, as the worker would print it. */
  writeOutput(idOrName: string, sessionId: string, text: string): void {
    const command = this.mustFind(idOrName).sessions.get(sessionId)?.at(-1);
    if (!command) throw new Error(`no command in session ${sessionId} of ${idOrName}`);
    command.output += text;
  }

  reset(behaviour: Partial<FakeDaytonaBehaviour> = {}): void {
    Object.assign(
      this.store.behaviour,
      DEFAULT_BEHAVIOUR,
      { createError: undefined, cloneError: undefined },
      behaviour,
    );
    this.store.requests.length = 0;
  }

  /** Closes the listener and drops open sockets, including requests left hanging on purpose. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private mustFind(idOrName: string): FakeSandbox {
    const sandbox = this.store.find(idOrName);
    if (!sandbox) throw new Error(`fake daytona has no sandbox ${idOrName}`);
    return sandbox;
  }
}
