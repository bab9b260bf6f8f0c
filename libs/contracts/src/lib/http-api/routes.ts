// The HTTP edge of every service, in one registry: path, method, the zod schemas of its parameters,
// body and answers, the auth action it requires, its error codes and examples. The OpenAPI document
// (openapi.ts) is built from this list and nothing else; the contract test replays its examples
// against the running edge (apps/e2e/src/openapi-contract.e2e.spec.ts). A route added to a router
// belongs here too (the README's edge table is its prose twin).
import { z } from 'zod';
import { SandboxTokenRenewal } from '../auth.schema';
import {
  BranchComparisonView,
  BranchWorkView,
  MergeRequest,
  OmoiosBranchStatusRequest,
  OmoiosBranchStatusResponse,
  OmoiosFinishWorkRequest,
  OmoiosFinishWorkResponse,
  OmoiosMergeWorkRequest,
  OmoiosMergeWorkResponse,
  OmoiosStartWorkRequest,
  OmoiosStartWorkResponse,
  OpenPullRequestRequest,
  StartBranchRequest,
  TicketId,
} from '../branch-workflow.schema';
import {
  EventAccepted,
  EventBatchAccepted,
  EventBatchBody,
  EventBody,
  EventHistoryPage,
  EventHistoryQuery,
} from '../events.schema';
import { SandboxId } from '../ids';
import { DrainedMessage, IdempotencyKey, MessageBody, MessageDrainQuery, MessageQueued } from '../messages.schema';
import { OmoiosEventList, OmoiosEventListQuery, TrajectoryQuery, TrajectorySummary } from '../sandbox-history.schema';
import { SandboxList, SandboxListQuery, SandboxSummary } from '../sandboxes.schema';
import {
  CreateTaskBody,
  SandboxTaskView,
  StopTaskBody,
  TaskCompleteAnswer,
  TaskCompleteBody,
  TaskId,
  TaskView,
} from '../tasks.schema';
import { ErrorAnswer, HealthAnswer, OPENAPI_PATH, ReadinessAnswer } from './edge.schema';

/** The apps that serve HTTP in a deployment (the standalone serves every route on one port). */
export const HTTP_SERVICES = [
  'ingest',
  'message-queue',
  'gateway',
  'supervisor',
  'branch-workflow',
  'guardian',
] as const;
export type HttpService = (typeof HTTP_SERVICES)[number];

/** A documented request and the answer it gets; the contract test sends exactly this and checks the status and the answer's shape. */
export interface HttpRouteExample {
  name: string;
  summary: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
  status: number;
  /** The answer as documented (for a JSON answer); the running edge's answer is checked against the schema, not this value. */
  response?: unknown;
}

export interface HttpRouteAnswer {
  description: string;
  /** A JSON answer's schema; absent with `contentType` for text answers. */
  schema?: z.ZodType;
  contentType?: string;
}

export interface HttpRoute {
  operationId: string;
  method: 'get' | 'post';
  /** OpenAPI's template syntax: `{sandboxId}`. */
  path: string;
  /** Which app serves it in a deployment; `every` for the routes of service-kit's app factory. */
  service: HttpService | 'every';
  tag: string;
  summary: string;
  description?: string;
  /** The auth action the route requires when auth is on (README § Security); null for public routes. */
  auth: string | null;
  params?: z.ZodObject;
  /** Query shapes; more than one when the edge chooses the read by the query (the relay's history vs the original's). */
  query?: z.ZodObject[];
  headers?: z.ZodObject;
  body?: { schema: z.ZodType; required: boolean; description?: string };
  answers: Record<number, HttpRouteAnswer>;
  /** Error codes by status, beyond the ones every route may answer (`internal`, 500). */
  errors: Record<number, string[]>;
  examples: HttpRouteExample[];
}

const SandboxParams = z.object({ sandboxId: SandboxId });
const TaskParams = z.object({ taskId: TaskId });
const TicketParams = z.object({ ticketId: TicketId });
const MessageHeaders = z.object({ 'idempotency-key': IdempotencyKey.optional() });
const MetricsText = { description: 'Prometheus text exposition', contentType: 'text/plain' };

/** Error codes by status that groups of routes share; merged per route by `errorsOf`. */
const ERRORS = {
  auth: { 401: ['unauthenticated'], 403: ['forbidden'] },
  sandboxPath: { 400: ['validation_failed', 'bad_request'] },
  body: {
    400: ['malformed_json', 'bad_request', 'request_aborted'],
    413: ['payload_too_large'],
    415: ['unsupported_encoding', 'unsupported_charset'],
    422: ['validation_failed'],
  },
  query: { 422: ['validation_failed'] },
  store: { 503: ['service_unavailable'] },
  rateLimited: { 429: ['rate_limited'] },
  github: {
    409: ['ref_exists', 'not_mergeable', 'head_changed', 'pull_request_exists', 'no_commits'],
    502: ['github_not_found', 'github_unauthorized', 'github_rejected'],
    503: ['github_rate_limited', 'github_unavailable', 'github_not_configured'],
  },
} satisfies Record<string, Record<number, string[]>>;

function errorsOf(...groups: Array<Record<number, string[]>>): Record<number, string[]> {
  const merged: Record<number, string[]> = {};
  for (const group of groups) {
    for (const [status, codes] of Object.entries(group))
      merged[Number(status)] = [...new Set([...(merged[Number(status)] ?? []), ...codes])];
  }
  return merged;
}

const EXAMPLE_SANDBOX = 'sandbox-example';
const EXAMPLE_ENVELOPE = {
  id: '42',
  event_type: 'agent.tool_completed',
  entity_type: 'sandbox',
  entity_id: EXAMPLE_SANDBOX,
  payload: { tool: 'bash', exit_code: 0 },
  source: 'agent',
  timestamp: '2026-11-24T10:00:00.000Z',
};
const EXAMPLE_TASK_ID = '00000000-0000-4000-8000-000000000000';
const EXAMPLE_BRANCH_WORK = {
  ticket_id: 'T-example-1',
  task_id: null,
  repo: 'example/relay',
  branch_name: 'feature/t-example-1-add-password-reset',
  base_branch: 'main',
  base_sha: '3f786850e387550fdab836ed7e6dc881de23001b',
  state: 'started',
  pr_number: null,
  pr_url: null,
  merge_sha: null,
  changed: true,
};
/** The repository the examples' relay serves (the contract test configures it so). */
export const EXAMPLE_REPOSITORY = 'example/relay';
const OMOIOS_REPO = { repo_owner: 'example', repo_name: 'relay' };

const notFound = (message: string) => ({ error: { code: 'not_found', message, requestId: 'req-1' } });

export const HTTP_ROUTES: readonly HttpRoute[] = [
  // ---- ingest -------------------------------------------------------------------------------------
  {
    operationId: 'postEvent',
    method: 'post',
    path: '/api/v1/sandboxes/{sandboxId}/events',
    service: 'ingest',
    tag: 'events',
    summary: 'Store one event of a sandbox',
    description: 'Answers once the event is committed; `id` is the resume cursor.',
    auth: 'events:write',
    params: SandboxParams,
    body: { schema: EventBody, required: true },
    answers: { 200: { description: 'the stored envelope', schema: EventAccepted } },
    errors: errorsOf(ERRORS.auth, ERRORS.sandboxPath, ERRORS.body, ERRORS.store, ERRORS.rateLimited),
    examples: [
      {
        name: 'toolCompleted',
        summary: 'a worker reports a tool call',
        params: { sandboxId: EXAMPLE_SANDBOX },
        body: { event_type: 'agent.tool_completed', event_data: { tool: 'bash', exit_code: 0 }, source: 'agent' },
        status: 200,
        response: EXAMPLE_ENVELOPE,
      },
      {
        name: 'missingType',
        summary: 'a body without event_type',
        params: { sandboxId: EXAMPLE_SANDBOX },
        body: { event_data: {} },
        status: 422,
        response: {
          error: {
            code: 'validation_failed',
            message: 'invalid body.event_type',
            details: [{ field: 'body.event_type', message: 'is required' }],
            requestId: 'req-1',
          },
        },
      },
    ],
  },
  {
    operationId: 'postEventBatch',
    method: 'post',
    path: '/api/v1/sandboxes/{sandboxId}/events/batch',
    service: 'ingest',
    tag: 'events',
    summary: 'Store 1..1000 events of a sandbox in array order',
    auth: 'events:write',
    params: SandboxParams,
    body: { schema: EventBatchBody, required: true },
    answers: { 200: { description: 'the ids, in the order of the array', schema: EventBatchAccepted } },
    errors: errorsOf(ERRORS.auth, ERRORS.sandboxPath, ERRORS.body, ERRORS.store, ERRORS.rateLimited),
    examples: [
      {
        name: 'backlog',
        summary: 'a worker flushes its buffered events',
        params: { sandboxId: EXAMPLE_SANDBOX },
        body: [{ event_type: 'heartbeat' }, { event_type: 'agent.message', event_data: { text: 'done' } }],
        status: 200,
        response: { count: 2, ids: ['43', '44'] },
      },
    ],
  },
  {
    operationId: 'listEvents',
    method: 'get',
    path: '/api/v1/sandboxes/{sandboxId}/events',
    service: 'ingest',
    tag: 'events',
    summary: "A sandbox's events: the relay's cursor pages, or the original system's offset pages",
    description:
      "Without `offset`: ids between `after` and `before`, ascending (`order=desc`: newest first, answering `next_before`). With `offset`: the original system's (OmoiOS) answer, newest first (limit 1..500, one `event_type`); `offset` beside `after`/`before`/`order` → 422.",
    auth: 'events:read',
    params: SandboxParams,
    query: [EventHistoryQuery, OmoiosEventListQuery],
    answers: {
      200: {
        description: "a page of history (the relay's shape, or the original's with `offset`)",
        schema: z.union([EventHistoryPage, OmoiosEventList]),
      },
    },
    errors: errorsOf(ERRORS.auth, ERRORS.sandboxPath, ERRORS.query, ERRORS.store),
    examples: [
      {
        name: 'firstPage',
        summary: 'the oldest page',
        params: { sandboxId: EXAMPLE_SANDBOX },
        query: { limit: '2' },
        status: 200,
        response: { events: [EXAMPLE_ENVELOPE], next_after: null },
      },
      {
        name: 'original',
        summary: "the original's offset read",
        params: { sandboxId: EXAMPLE_SANDBOX },
        query: { offset: '0', limit: '10' },
        status: 200,
        response: {
          events: [
            {
              id: '42',
              sandbox_id: EXAMPLE_SANDBOX,
              event_type: 'agent.tool_completed',
              event_data: { tool: 'bash' },
              source: 'agent',
              created_at: '2026-11-24T10:00:00.000Z',
            },
          ],
          total_count: 1,
          sandbox_id: EXAMPLE_SANDBOX,
        },
      },
      {
        name: 'badLimit',
        summary: 'a limit out of range',
        params: { sandboxId: EXAMPLE_SANDBOX },
        query: { limit: '0' },
        status: 422,
        response: {
          error: {
            code: 'validation_failed',
            message: 'invalid query.limit',
            details: [{ field: 'query.limit', message: 'Too small: expected number to be >=1' }],
            requestId: 'req-1',
          },
        },
      },
    ],
  },
  {
    operationId: 'getTrajectory',
    method: 'get',
    path: '/api/v1/sandboxes/{sandboxId}/trajectory',
    service: 'ingest',
    tag: 'events',
    summary: "The original system's trajectory view: events without heartbeats, newest first, heartbeats summarised",
    auth: 'events:read',
    params: SandboxParams,
    query: [TrajectoryQuery],
    answers: { 200: { description: 'a trajectory page', schema: TrajectorySummary } },
    errors: errorsOf(ERRORS.auth, ERRORS.sandboxPath, ERRORS.query, ERRORS.store),
    examples: [
      {
        name: 'newest',
        summary: 'the newest page',
        params: { sandboxId: EXAMPLE_SANDBOX },
        query: { limit: '10' },
        status: 200,
        response: {
          sandbox_id: EXAMPLE_SANDBOX,
          events: [],
          heartbeat_summary: {
            count: 1,
            first_heartbeat: '2026-11-24T10:00:00.000Z',
            last_heartbeat: '2026-11-24T10:00:00.000Z',
          },
          total_events: 1,
          trajectory_events: 0,
          next_cursor: null,
          prev_cursor: null,
          has_more: false,
        },
      },
    ],
  },
  // ---- message-queue ------------------------------------------------------------------------------
  {
    operationId: 'sendMessage',
    method: 'post',
    path: '/api/v1/sandboxes/{sandboxId}/messages',
    service: 'message-queue',
    tag: 'messages',
    summary: 'Queue a message for a sandbox (durable when answered); a repeated Idempotency-Key queues once',
    auth: 'messages:send',
    params: SandboxParams,
    headers: MessageHeaders,
    body: { schema: MessageBody, required: true },
    answers: { 200: { description: 'queued', schema: MessageQueued } },
    errors: errorsOf(ERRORS.auth, ERRORS.sandboxPath, ERRORS.body, ERRORS.store, ERRORS.rateLimited),
    examples: [
      {
        name: 'userMessage',
        summary: 'an operator steers the agent',
        params: { sandboxId: EXAMPLE_SANDBOX },
        headers: { 'idempotency-key': 'send-example-1' },
        body: { content: 'Please also run the tests.', message_type: 'user_message' },
        status: 200,
        response: {
          status: 'queued',
          message_id: '7',
          sandbox_id: EXAMPLE_SANDBOX,
          message_type: 'user_message',
          created_at: '2026-11-24T10:00:01.000Z',
          duplicate: false,
        },
      },
    ],
  },
  {
    operationId: 'drainMessages',
    method: 'get',
    path: '/api/v1/sandboxes/{sandboxId}/messages',
    service: 'message-queue',
    tag: 'messages',
    summary: 'Drain the undelivered messages (marked delivered atomically); with `since`, re-read delivered ones',
    auth: 'messages:drain',
    params: SandboxParams,
    query: [MessageDrainQuery],
    answers: {
      200: { description: 'the messages, interrupts first; `[]` when none', schema: z.array(DrainedMessage) },
    },
    errors: errorsOf(ERRORS.auth, ERRORS.sandboxPath, ERRORS.query, ERRORS.store),
    examples: [
      {
        name: 'drain',
        summary: 'the worker polls',
        params: { sandboxId: EXAMPLE_SANDBOX },
        status: 200,
        response: [
          {
            message_id: '7',
            sandbox_id: EXAMPLE_SANDBOX,
            content: 'Please also run the tests.',
            message_type: 'user_message',
            created_at: '2026-11-24T10:00:01.000Z',
            delivered_at: '2026-11-24T10:00:02.000Z',
            id: '7',
            timestamp: '2026-11-24T10:00:01.000Z',
          },
        ],
      },
    ],
  },
  // ---- gateway ------------------------------------------------------------------------------------
  {
    operationId: 'listSandboxes',
    method: 'get',
    path: '/api/v1/sandboxes',
    service: 'gateway',
    tag: 'sandboxes',
    summary: 'Sessions and sandboxes with recent events, most recently active first',
    description: 'A scoped token lists the most recently active of its own sandboxes.',
    auth: 'events:read',
    query: [SandboxListQuery],
    answers: { 200: { description: 'the list', schema: SandboxList } },
    errors: errorsOf(ERRORS.auth, ERRORS.query, ERRORS.store),
    examples: [
      {
        name: 'recent',
        summary: 'the ten most recently active',
        query: { limit: '10' },
        status: 200,
        response: { sandboxes: [], generated_at: '2026-11-24T10:00:00.000Z' },
      },
    ],
  },
  {
    operationId: 'getSandbox',
    method: 'get',
    path: '/api/v1/sandboxes/{sandboxId}',
    service: 'gateway',
    tag: 'sandboxes',
    summary: "One sandbox's summary",
    auth: 'events:read',
    params: SandboxParams,
    answers: { 200: { description: 'the summary', schema: SandboxSummary } },
    errors: errorsOf(ERRORS.auth, ERRORS.sandboxPath, { 404: ['not_found'] }, ERRORS.store),
    examples: [
      {
        name: 'unknown',
        summary: 'a sandbox with neither a session nor an event',
        params: { sandboxId: 'sandbox-example-unknown' },
        status: 404,
        response: notFound('no sandbox sandbox-example-unknown: no session and no events'),
      },
    ],
  },
  {
    operationId: 'getDashboard',
    method: 'get',
    path: '/',
    service: 'gateway',
    tag: 'dashboard',
    summary: 'The dashboard page (also at /index.html, its assets under /assets/)',
    auth: null,
    answers: { 200: { description: 'the page', contentType: 'text/html' } },
    errors: { 503: ['dashboard_not_built'] },
    examples: [],
  },
  // ---- supervisor ---------------------------------------------------------------------------------
  {
    operationId: 'createTask',
    method: 'post',
    path: '/api/v1/tasks',
    service: 'supervisor',
    tag: 'tasks',
    summary: 'Start a task in a new sandbox (answered once the sandbox is spawned)',
    auth: 'tasks:manage',
    body: { schema: CreateTaskBody, required: true },
    answers: { 201: { description: 'the task', schema: TaskView } },
    // The sandbox provider failing: its code (libs/sandbox SANDBOX_ERROR_CODES) at 502 when a retry would not help, 503 when it may.
    errors: errorsOf(ERRORS.auth, ERRORS.body, ERRORS.store, {
      502: [
        'invalid_spec',
        'unauthorized',
        'not_found',
        'upstream_rejected',
        'invalid_response',
        'sandbox_failed',
        'worker_bundle_missing',
        'repository_clone_failed',
        'worker_start_failed',
      ],
      503: ['upstream_unavailable', 'timeout'],
    }),
    examples: [
      {
        name: 'refusedPlan',
        summary: 'a plan the shell agent would refuse',
        body: { title: 'Example', plan: { steps: 'not a list' } },
        status: 422,
        response: {
          error: {
            code: 'validation_failed',
            message: 'invalid body.plan',
            details: [{ field: 'body.plan', message: 'plan.steps must be a list' }],
            requestId: 'req-1',
          },
        },
      },
    ],
  },
  {
    operationId: 'getTask',
    method: 'get',
    path: '/api/v1/tasks/{taskId}',
    service: 'supervisor',
    tag: 'tasks',
    summary: 'A task, its sessions, restarts and cost',
    auth: 'tasks:read',
    params: TaskParams,
    answers: { 200: { description: 'the task', schema: TaskView } },
    errors: errorsOf(ERRORS.auth, { 400: ['validation_failed', 'bad_request'], 404: ['not_found'] }, ERRORS.store),
    examples: [
      {
        name: 'unknown',
        summary: 'no such task',
        params: { taskId: EXAMPLE_TASK_ID },
        status: 404,
        response: notFound(`task ${EXAMPLE_TASK_ID} not found`),
      },
    ],
  },
  {
    operationId: 'stopTask',
    method: 'post',
    path: '/api/v1/tasks/{taskId}/stop',
    service: 'supervisor',
    tag: 'tasks',
    summary: 'Stop a task and terminate its sandbox',
    auth: 'tasks:manage',
    params: TaskParams,
    body: { schema: StopTaskBody, required: false },
    answers: { 200: { description: 'the task, stopped (or unchanged when it no longer runs)', schema: TaskView } },
    errors: errorsOf(
      ERRORS.auth,
      ERRORS.body,
      { 400: ['validation_failed'], 404: ['not_found'], 409: ['conflict'] },
      ERRORS.store,
    ),
    examples: [
      {
        name: 'unknown',
        summary: 'no such task',
        params: { taskId: EXAMPLE_TASK_ID },
        body: { reason: 'no longer needed' },
        status: 404,
        response: notFound(`task ${EXAMPLE_TASK_ID} not found`),
      },
    ],
  },
  {
    operationId: 'renewSandboxToken',
    method: 'post',
    path: '/api/v1/sandboxes/{sandboxId}/token',
    service: 'supervisor',
    tag: 'sandbox callbacks',
    summary: "Trade a sandbox's token for a fresh one (with the token itself)",
    auth: 'token:renew',
    params: SandboxParams,
    answers: { 200: { description: 'a fresh sandbox token', schema: SandboxTokenRenewal } },
    errors: errorsOf(ERRORS.auth, ERRORS.sandboxPath, { 409: ['sandbox_not_live', 'auth_off'] }, ERRORS.store),
    examples: [
      {
        name: 'authOff',
        summary: 'a relay running without auth issues no tokens',
        params: { sandboxId: EXAMPLE_SANDBOX },
        status: 409,
        response: {
          error: { code: 'auth_off', message: 'auth is off: there are no tokens to renew', requestId: 'req-1' },
        },
      },
    ],
  },
  {
    operationId: 'getSandboxTask',
    method: 'get',
    path: '/api/v1/sandboxes/{sandboxId}/task',
    service: 'supervisor',
    tag: 'sandbox callbacks',
    summary: "The sandbox's task, in the original system's shape plus the relay's task",
    auth: 'task:report',
    params: SandboxParams,
    answers: { 200: { description: 'the task', schema: SandboxTaskView } },
    errors: errorsOf(ERRORS.auth, ERRORS.sandboxPath, { 404: ['not_found'] }, ERRORS.store),
    examples: [
      {
        name: 'noTask',
        summary: 'a sandbox without a task',
        params: { sandboxId: EXAMPLE_SANDBOX },
        status: 404,
        response: notFound(`sandbox ${EXAMPLE_SANDBOX} has no task`),
      },
    ],
  },
  {
    operationId: 'completeSandboxTask',
    method: 'post',
    path: '/api/v1/sandboxes/{sandboxId}/task-complete',
    service: 'supervisor',
    tag: 'sandbox callbacks',
    summary: "Report the sandbox's task done or failed (once; repeats are answered unchanged)",
    auth: 'task:report',
    params: SandboxParams,
    body: { schema: TaskCompleteBody, required: true },
    answers: { 200: { description: 'accepted', schema: TaskCompleteAnswer } },
    errors: errorsOf(
      ERRORS.auth,
      ERRORS.sandboxPath,
      ERRORS.body,
      { 404: ['not_found'], 409: ['task_not_on_sandbox', 'sandbox_replaced', 'task_restarting'] },
      ERRORS.store,
    ),
    examples: [
      {
        name: 'unknownSandbox',
        summary: 'a sandbox the relay does not know',
        params: { sandboxId: 'sandbox-example-unknown' },
        body: { task_id: EXAMPLE_TASK_ID, success: true },
        status: 404,
        response: notFound('sandbox sandbox-example-unknown is unknown: it has neither a session nor a task'),
      },
    ],
  },
  // ---- branch-workflow ----------------------------------------------------------------------------
  {
    operationId: 'startTicketBranch',
    method: 'post',
    path: '/api/v1/tickets/{ticketId}/branch',
    service: 'branch-workflow',
    tag: 'tickets',
    summary: "Create the ticket's branch (201), or answer the existing one (200, `changed: false`)",
    auth: 'branches:manage',
    params: TicketParams,
    body: { schema: StartBranchRequest, required: true },
    answers: {
      200: { description: 'the ticket already had its branch', schema: BranchWorkView },
      201: { description: 'the branch was created', schema: BranchWorkView },
    },
    errors: errorsOf(ERRORS.auth, ERRORS.body, { 400: ['validation_failed'] }, ERRORS.github, ERRORS.store),
    examples: [
      {
        name: 'start',
        summary: 'a new ticket',
        params: { ticketId: 'T-example-1' },
        body: { title: 'Add password reset', kind: 'feature' },
        status: 201,
        response: EXAMPLE_BRANCH_WORK,
      },
    ],
  },
  {
    operationId: 'getTicketBranch',
    method: 'get',
    path: '/api/v1/tickets/{ticketId}/branch',
    service: 'branch-workflow',
    tag: 'tickets',
    summary: "The ticket's branch work",
    auth: 'branches:manage',
    params: TicketParams,
    answers: { 200: { description: 'the branch work', schema: BranchWorkView } },
    errors: errorsOf(ERRORS.auth, { 400: ['validation_failed'], 404: ['not_found'] }, ERRORS.store),
    examples: [
      {
        name: 'current',
        summary: 'after the start',
        params: { ticketId: 'T-example-1' },
        status: 200,
        response: { ...EXAMPLE_BRANCH_WORK, changed: false },
      },
    ],
  },
  {
    operationId: 'compareTicketBranch',
    method: 'get',
    path: '/api/v1/tickets/{ticketId}/compare',
    service: 'branch-workflow',
    tag: 'tickets',
    summary: "The ticket's branch against its base",
    auth: 'branches:manage',
    params: TicketParams,
    answers: { 200: { description: 'the comparison', schema: BranchComparisonView } },
    errors: errorsOf(ERRORS.auth, { 400: ['validation_failed'], 404: ['not_found'] }, ERRORS.github, ERRORS.store),
    examples: [
      {
        name: 'fresh',
        summary: 'a branch without commits',
        params: { ticketId: 'T-example-1' },
        status: 200,
        response: {
          ticket_id: 'T-example-1',
          branch_name: EXAMPLE_BRANCH_WORK.branch_name,
          base_branch: 'main',
          status: 'identical',
          ahead_by: 0,
          behind_by: 0,
          files: [],
        },
      },
    ],
  },
  {
    operationId: 'openTicketPullRequest',
    method: 'post',
    path: '/api/v1/tickets/{ticketId}/pull-request',
    service: 'branch-workflow',
    tag: 'tickets',
    summary: "Open the ticket's pull request (201), or answer the open one (200, `changed: false`)",
    auth: 'branches:manage',
    params: TicketParams,
    body: { schema: OpenPullRequestRequest, required: false },
    answers: {
      200: { description: 'already open', schema: BranchWorkView },
      201: { description: 'opened', schema: BranchWorkView },
    },
    errors: errorsOf(
      ERRORS.auth,
      ERRORS.body,
      { 400: ['validation_failed'], 404: ['not_found'] },
      ERRORS.github,
      ERRORS.store,
    ),
    examples: [
      {
        name: 'noCommits',
        summary: 'a branch without work',
        params: { ticketId: 'T-example-1' },
        body: { summary: 'Adds the reset flow.' },
        status: 409,
        response: {
          error: {
            code: 'no_commits',
            message: 'the branch has no commits',
            details: { github_status: 422 },
            requestId: 'req-1',
          },
        },
      },
    ],
  },
  {
    operationId: 'mergeTicketWork',
    method: 'post',
    path: '/api/v1/tickets/{ticketId}/merge',
    service: 'branch-workflow',
    tag: 'tickets',
    summary: "Merge the ticket's pull request and delete its branch",
    auth: 'branches:manage',
    params: TicketParams,
    body: { schema: MergeRequest, required: false },
    answers: { 200: { description: 'merged (`state: "completed"`)', schema: BranchWorkView } },
    errors: errorsOf(
      ERRORS.auth,
      ERRORS.body,
      { 400: ['validation_failed'], 404: ['not_found'] },
      ERRORS.github,
      ERRORS.store,
    ),
    examples: [],
  },
  {
    operationId: 'omoiosStartWork',
    method: 'post',
    path: '/api/v1/branch-workflow/start',
    service: 'branch-workflow',
    tag: 'original branch workflow',
    summary: "The original system's start of work on a ticket",
    auth: 'branches:manage',
    body: { schema: OmoiosStartWorkRequest, required: true },
    answers: { 200: { description: 'started', schema: OmoiosStartWorkResponse } },
    errors: errorsOf(ERRORS.auth, ERRORS.body, ERRORS.github, ERRORS.store),
    examples: [
      {
        name: 'start',
        summary: 'a feature ticket',
        body: { ticket_id: 'T-example-2', ticket_title: 'Fix login', ...OMOIOS_REPO, ticket_type: 'bug' },
        status: 200,
        response: {
          success: true,
          branch_name: 'fix/t-example-2-fix-login',
          sha: '3f786850e387550fdab836ed7e6dc881de23001b',
          error: null,
        },
      },
      {
        name: 'otherRepository',
        summary: 'a repository this relay does not serve',
        body: { ticket_id: 'T-example-2', ticket_title: 'Fix login', repo_owner: 'someone', repo_name: 'else' },
        status: 422,
        response: {
          error: {
            code: 'validation_failed',
            message: 'invalid body.repo_owner, body.repo_name',
            details: [{ field: 'body.repo_owner', message: 'this relay serves example/relay only' }],
            requestId: 'req-1',
          },
        },
      },
    ],
  },
  {
    operationId: 'omoiosBranchStatus',
    method: 'post',
    path: '/api/v1/branch-workflow/status',
    service: 'branch-workflow',
    tag: 'original branch workflow',
    summary: "The original system's branch status against the base",
    auth: 'branches:manage',
    body: { schema: OmoiosBranchStatusRequest, required: true },
    answers: { 200: { description: 'the status', schema: OmoiosBranchStatusResponse } },
    errors: errorsOf(ERRORS.auth, ERRORS.body, ERRORS.github, ERRORS.store),
    examples: [
      {
        name: 'status',
        summary: 'the base branch itself',
        body: { branch_name: 'main', ...OMOIOS_REPO },
        status: 200,
        response: { success: true, ahead_by: 0, behind_by: 0, has_conflicts: false, error: null },
      },
    ],
  },
  {
    operationId: 'omoiosFinishWork',
    method: 'post',
    path: '/api/v1/branch-workflow/finish',
    service: 'branch-workflow',
    tag: 'original branch workflow',
    summary: "The original system's finish of work: opens the pull request",
    auth: 'branches:manage',
    body: { schema: OmoiosFinishWorkRequest, required: true },
    answers: { 200: { description: 'the pull request', schema: OmoiosFinishWorkResponse } },
    errors: errorsOf(ERRORS.auth, ERRORS.body, { 409: ['branch_mismatch'] }, ERRORS.github, ERRORS.store),
    examples: [
      {
        name: 'wrongBranch',
        summary: "a branch that is not the ticket's",
        body: { ticket_id: 'T-example-2', ticket_title: 'Fix login', branch_name: 'fix/other', ...OMOIOS_REPO },
        status: 409,
        response: {
          error: {
            code: 'branch_mismatch',
            message: 'ticket T-example-2 works on fix/t-example-2-fix-login, not fix/other',
            details: { branch_name: 'fix/t-example-2-fix-login' },
            requestId: 'req-1',
          },
        },
      },
    ],
  },
  {
    operationId: 'omoiosMergeWork',
    method: 'post',
    path: '/api/v1/branch-workflow/merge',
    service: 'branch-workflow',
    tag: 'original branch workflow',
    summary: "The original system's merge of a ticket's pull request",
    auth: 'branches:manage',
    body: { schema: OmoiosMergeWorkRequest, required: true },
    answers: { 200: { description: 'merged', schema: OmoiosMergeWorkResponse } },
    errors: errorsOf(ERRORS.auth, ERRORS.body, { 409: ['pull_request_mismatch'] }, ERRORS.github, ERRORS.store),
    examples: [],
  },
  // ---- every app ----------------------------------------------------------------------------------
  {
    operationId: 'getHealth',
    method: 'get',
    path: '/healthz',
    service: 'every',
    tag: 'operations',
    summary: 'The process is alive',
    auth: null,
    answers: { 200: { description: 'alive', schema: HealthAnswer } },
    errors: {},
    examples: [{ name: 'alive', summary: 'alive', status: 200, response: { status: 'ok' } }],
  },
  {
    operationId: 'getReadiness',
    method: 'get',
    path: '/readyz',
    service: 'every',
    tag: 'operations',
    summary: 'Dependencies reachable and not draining (503 with the same shape otherwise)',
    auth: null,
    answers: {
      200: { description: 'ready', schema: ReadinessAnswer },
      503: { description: 'not ready', schema: ReadinessAnswer },
    },
    errors: {},
    examples: [
      {
        name: 'ready',
        summary: 'ready',
        status: 200,
        response: {
          ready: true,
          status: 'ready',
          checks: { postgres: { ok: true, ms: 2 }, redis: { ok: true, ms: 1 } },
          version: '0.0.0',
        },
      },
    ],
  },
  {
    operationId: 'getMetrics',
    method: 'get',
    path: '/metrics',
    service: 'every',
    tag: 'operations',
    summary: 'Prometheus metrics (refused through the Ingress and the compose edge)',
    auth: null,
    answers: { 200: MetricsText },
    errors: {},
    examples: [{ name: 'scrape', summary: 'a scrape', status: 200 }],
  },
  {
    operationId: 'getOpenApi',
    method: 'get',
    path: OPENAPI_PATH,
    service: 'every',
    tag: 'operations',
    summary: "This document: an app's own routes; the gateway and the standalone: the whole edge",
    auth: null,
    answers: { 200: { description: 'the OpenAPI 3.1 document', schema: z.record(z.string(), z.unknown()) } },
    errors: {},
    examples: [{ name: 'document', summary: 'the document', status: 200 }],
  },
];

/** The contracts' names of the schemas the routes use: the document's component names (and so a generated client's model names). */
export const HTTP_COMPONENT_NAMES: Record<string, z.ZodType> = {
  EventBody,
  EventBatchBody,
  EventEnvelope: EventAccepted,
  EventBatchAccepted,
  MessageBody,
  MessageQueued,
  SandboxList,
  SandboxSummary,
  CreateTaskBody,
  StopTaskBody,
  TaskView,
  SandboxTaskView,
  TaskCompleteBody,
  TaskCompleteAnswer,
  SandboxTokenRenewal,
  StartBranchRequest,
  OpenPullRequestRequest,
  MergeRequest,
  BranchWorkView,
  BranchComparisonView,
  OmoiosStartWorkRequest,
  OmoiosStartWorkResponse,
  OmoiosFinishWorkRequest,
  OmoiosFinishWorkResponse,
  OmoiosMergeWorkRequest,
  OmoiosMergeWorkResponse,
  OmoiosBranchStatusRequest,
  OmoiosBranchStatusResponse,
  TrajectorySummary,
  HealthAnswer,
  ReadinessAnswer,
  ErrorAnswer,
};
