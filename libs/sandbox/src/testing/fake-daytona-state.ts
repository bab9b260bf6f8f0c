import { randomUUID } from 'node:crypto';
// Type-only: the fake's answers are checked against the very models the SDK's API clients use.
import type { CreateSandbox, Sandbox as SandboxDto, SandboxState } from '@daytona/api-client';
import type { GitCloneRequest } from '@daytona/toolbox-api-client';

/** How the fake behaves; tests change it between (or during) cases. */
export interface FakeDaytonaBehaviour {
  /** GETs of a new sandbox that still answer `creating` before it reaches its outcome. */
  creatingPolls: number;
  /** Where a new sandbox ends up: `error` exercises a failed start. */
  startOutcome: 'started' | 'error';
  /** When set, every create answers with this status and a Daytona-style body. */
  createError?: { status: number; message: string };
  /** When set, every git clone answers with this status and a Daytona-style body. */
  cloneError?: { status: number; message: string };
  /** `ok`: stops at once; `stuck`: stays `stopping`; `hang`: the stop request never gets an answer. */
  stop: 'ok' | 'stuck' | 'hang';
  /**
   * DELETEs still answered 409 "Sandbox state change in progress" before one succeeds: what Daytona
   * answers while a stop (or start) it accepted is still under way. Counted down per DELETE.
   */
  deleteConflicts: number;
  /** What the toolbox reports as the sandbox work dir. */
  workDir: string;
}

export const DEFAULT_BEHAVIOUR: FakeDaytonaBehaviour = {
  creatingPolls: 0,
  startOutcome: 'started',
  stop: 'ok',
  deleteConflicts: 0,
  workDir: '/home/daytona',
};

export interface FakeCommand {
  id: string;
  command: string;
  runAsync: boolean;
  /** What `GET .../logs` returns; tests append with `FakeDaytonaServer.writeOutput`. */
  output: string;
}

/** One sandbox as the fake keeps it: the DTO the API returns plus what the toolbox received. */
export interface FakeSandbox {
  dto: SandboxDto;
  /** The create request body exactly as received. */
  createBody: CreateSandbox;
  pollsUntilReady: number;
  uploads: Map<string, Buffer>;
  clones: GitCloneRequest[];
  sessions: Map<string, FakeCommand[]>;
}

/** Daytona's `{statusCode, message, error}` error body (NestJS HttpException shape). */
export function daytonaErrorBody(
  status: number,
  message: string,
  reason: string,
): { statusCode: number; message: string; error: string } {
  return { statusCode: status, message, error: reason };
}

export function newFakeSandbox(
  body: CreateSandbox,
  toolboxProxyUrl: string,
  behaviour: FakeDaytonaBehaviour,
): FakeSandbox {
  const id = randomUUID();
  const now = new Date().toISOString();
  const dto: SandboxDto = {
    id,
    organizationId: 'org-fake',
    name: body.name ?? id,
    snapshot: body.snapshot,
    user: body.user ?? 'daytona',
    env: body.env ?? {},
    labels: body.labels ?? {},
    public: body.public ?? false,
    networkBlockAll: body.networkBlockAll ?? false,
    target: body.target ?? 'us',
    cpu: body.cpu ?? 1,
    gpu: body.gpu ?? 0,
    memory: body.memory ?? 1,
    disk: body.disk ?? 3,
    state: 'creating',
    desiredState: 'started',
    autoStopInterval: body.autoStopInterval ?? 15,
    autoArchiveInterval: body.autoArchiveInterval ?? 10080,
    autoDeleteInterval: body.autoDeleteInterval ?? -1,
    createdAt: now,
    updatedAt: now,
    toolboxProxyUrl,
  };
  const sandbox: FakeSandbox = {
    dto,
    createBody: body,
    pollsUntilReady: behaviour.creatingPolls,
    uploads: new Map(),
    clones: [],
    sessions: new Map(),
  };
  advance(sandbox, behaviour);
  return sandbox;
}

/** Moves a creating sandbox one poll closer to its outcome (called on create and on every GET). */
export function advance(sandbox: FakeSandbox, behaviour: FakeDaytonaBehaviour): void {
  if (sandbox.dto.state !== 'creating') return;
  if (sandbox.pollsUntilReady > 0) {
    sandbox.pollsUntilReady -= 1;
    return;
  }
  setState(sandbox, behaviour.startOutcome);
  if (behaviour.startOutcome === 'error') sandbox.dto.errorReason = 'runner failed to start the sandbox container';
}

export function setState(sandbox: FakeSandbox, state: SandboxState): void {
  sandbox.dto.state = state;
  sandbox.dto.updatedAt = new Date().toISOString();
}

/**
 * The API's own create validation that callers trip over: with no build info (snapshot or the
 * default snapshot), sizing is rejected — the message is Daytona's, word for word.
 */
export function createRejection(body: CreateSandbox): string | undefined {
  if (!body.buildInfo && (body.cpu || body.gpu || body.memory || body.disk))
    return 'Cannot specify Sandbox resources when using a snapshot';
  return undefined;
}

/** Everything the fake knows: sandboxes by id, the behaviour knobs, and every request received. */
export class FakeDaytonaStore {
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly requests: RecordedRequest[] = [];

  constructor(
    readonly apiKey: string,
    readonly behaviour: FakeDaytonaBehaviour,
  ) {}

  /** Daytona resolves `{sandboxIdOrName}` path segments by id first, then by name. */
  find(idOrName: string): FakeSandbox | undefined {
    const byId = this.sandboxes.get(idOrName);
    if (byId) return byId;
    return [...this.sandboxes.values()].find(
      (sandbox) => sandbox.dto.name === idOrName && sandbox.dto.state !== 'destroyed',
    );
  }
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/api/sandbox` or `/toolbox/<id>/process/session`. */
  path: string;
  query: Record<string, string>;
  authorization?: string;
  /** Parsed JSON; for multipart, the parts with their text (file parts as utf8). */
  body: unknown;
}
