import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One `POST /v1/messages` (or any other call) the client made. */
export interface RecordedAnthropicRequest {
  method: string;
  path: string;
  /** The parsed JSON body; null when there was none or it was not JSON. */
  body: AnthropicRequestBody | null;
}

/** The parts of a Messages API request body the fake looks at. */
export interface AnthropicRequestBody {
  model?: string;
  stream?: boolean;
  messages?: { role: string; content: string | { type: string; [key: string]: unknown }[] }[];
  tools?: { name: string }[];
  [key: string]: unknown;
}

/** What the fake answers to one `POST /v1/messages`. */
export type FakeReply =
  /** A text block, then `end_turn`. */
  | { text: string }
  /** A `tool_use` block, then `stop_reason: tool_use` (the client runs the tool and calls again). */
  | { toolUse: { name: string; input: Record<string, unknown>; id?: string } }
  /** Streaming: starts a text block with `text`, then keeps the stream open until the client goes away. Otherwise no answer at all. */
  | { hang: string }
  /** An API error answered as JSON with this status (e.g. 400 invalid_request_error). */
  | { error: { status: number; type: string; message: string } };

export type FakeResponder = (request: AnthropicRequestBody, index: number) => FakeReply;

/** The last `user` message (Claude Code may append a `system` message after it). */
function lastUserMessage(
  request: AnthropicRequestBody,
): NonNullable<AnthropicRequestBody['messages']>[number] | undefined {
  return [...(request.messages ?? [])].reverse().find((message) => message.role === 'user');
}

/** The tool_result blocks of the last user message of a request (the answer to our previous tool_use). */
export function lastToolResults(
  request: AnthropicRequestBody,
): { tool_use_id: string; content: unknown; is_error?: boolean }[] {
  const last = lastUserMessage(request);
  if (!last || typeof last.content === 'string') return [];
  return last.content.filter((block) => block.type === 'tool_result') as never;
}

/** The text the user sent last (joined text blocks of the last user message), or ''. */
export function lastUserText(request: AnthropicRequestBody): string {
  const last = lastUserMessage(request);
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  return last.content
    .filter((block) => block.type === 'text')
    .map((block) => String(block['text']))
    .join('\n');
}

/** Default: text that echoes a tool result when there is one, else "ok". */
const defaultResponder: FakeResponder = (request) => {
  const results = lastToolResults(request);
  return { text: results.length > 0 ? `tool result: ${JSON.stringify(results[0]?.content)}` : 'ok' };
};

/**
 * A real HTTP server speaking the Anthropic Messages API (`POST /v1/messages` with SSE streaming,
 * `POST /v1/messages/count_tokens`), for tests that run the real Claude Agent SDK and its CLI against
 * it through `ANTHROPIC_BASE_URL`. Each reply is chosen by `respond`; every request is recorded.
 */
export class FakeAnthropicServer {
  readonly requests: RecordedAnthropicRequest[] = [];
  respond: FakeResponder = defaultResponder;
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly hangWaiters: (() => void)[] = [];
  private hanging = 0;
  private messageCalls = 0;

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('FakeAnthropicServer is not started');
    return `http://127.0.0.1:${address.port}`;
  }

  /** The `POST /v1/messages` calls only. */
  get messageRequests(): AnthropicRequestBody[] {
    return this.requests
      .filter((request) => request.path === '/v1/messages' && request.body !== null)
      .map((request) => request.body as AnthropicRequestBody);
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Forgets the requests seen and the reply script (between tests); `index` counts from 0 again. */
  reset(): void {
    this.requests.length = 0;
    this.messageCalls = 0;
    this.respond = defaultResponder;
  }

  /** Resolves once a `hang` reply has started streaming (the client is now mid-response). */
  waitForHang(): Promise<void> {
    if (this.hanging > 0) return Promise.resolve();
    return new Promise((resolve) => this.hangWaiters.push(resolve));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      let body: AnthropicRequestBody | null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AnthropicRequestBody;
      } catch {
        body = null;
      }
      this.requests.push({ method: req.method ?? 'GET', path, body });
      if (req.method === 'POST' && path === '/v1/messages/count_tokens') return json(res, 200, { input_tokens: 100 });
      if (req.method === 'POST' && path === '/v1/messages' && body) return this.messages(body, req, res);
      json(res, 404, { type: 'error', error: { type: 'not_found_error', message: `no route ${req.method} ${path}` } });
    });
  }

  private messages(body: AnthropicRequestBody, req: http.IncomingMessage, res: http.ServerResponse): void {
    const reply = this.respond(body, this.messageCalls++);
    if ('error' in reply) {
      json(res, reply.error.status, { type: 'error', error: { type: reply.error.type, message: reply.error.message } });
      return;
    }
    const id = `msg_fake_${this.messageCalls}`;
    const model = body.model ?? 'claude-fake';
    if (!body.stream) {
      if ('hang' in reply) {
        // No answer at all until the client gives up (its timeout).
        this.hanging += 1;
        for (const wake of this.hangWaiters.splice(0)) wake();
        res.on('close', () => (this.hanging -= 1));
        return;
      }
      const content =
        'text' in reply
          ? [{ type: 'text', text: reply.text }]
          : [
              {
                type: 'tool_use',
                id: reply.toolUse.id ?? `toolu_fake_${this.messageCalls}`,
                name: reply.toolUse.name,
                input: reply.toolUse.input,
              },
            ];
      const stopReason = 'text' in reply ? 'end_turn' : 'tool_use';
      json(res, 200, {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage: { input_tokens: 100, output_tokens: 5 },
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_${id}` });
    const send = (type: string, data: Record<string, unknown>) =>
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    send('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 100, output_tokens: 1 },
      },
    });
    let stopReason = 'end_turn';
    if ('toolUse' in reply) {
      const { name, input, id: toolId } = reply.toolUse;
      send('content_block_start', {
        index: 0,
        content_block: { type: 'tool_use', id: toolId ?? `toolu_fake_${this.messageCalls}`, name, input: {} },
      });
      send('content_block_delta', {
        index: 0,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(input) },
      });
      send('content_block_stop', { index: 0 });
      stopReason = 'tool_use';
    } else {
      const text = 'text' in reply ? reply.text : reply.hang;
      send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
      if ('hang' in reply) {
        // Mid-stream: hold the response open (with pings, as the real API does) until the client leaves.
        this.hanging += 1;
        for (const wake of this.hangWaiters.splice(0)) wake();
        const ping = setInterval(() => send('ping', {}), 200);
        res.on('close', () => {
          clearInterval(ping);
          this.hanging -= 1;
        });
        req.socket.on('close', () => clearInterval(ping));
        return;
      }
      send('content_block_stop', { index: 0 });
    }
    send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 5 } });
    send('message_stop', {});
    res.end();
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
