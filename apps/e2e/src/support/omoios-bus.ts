import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { testInfra, waitFor } from '@sandbox-relay/testing';
import { PYTHON_DIR, omoiosPython, runPythonJson } from './python';

// The original system's (OmoiOS) event bus driven from Python (apps/e2e/python/omoios_event_bus.py):
// what the relay must meet is pydantic's JSON and the redis package's pub/sub, not our idea of them.

const SCRIPT = 'omoios_event_bus.py';

export interface SystemEventFields {
  event_type: string;
  entity_type: string;
  entity_id: string;
  payload?: Record<string, unknown>;
}

export interface PublishedOnBus {
  channel: string;
  /** The exact text published: `SystemEvent.model_dump_json()`. */
  message: string;
  receivers: number;
}

/**
 * Publishes each event as the original's `EventBusService.publish` does, on `redisUrl` (the suites'
 * shared Redis by default).
 */
export async function publishOnOmoiosBus(
  events: SystemEventFields[],
  redisUrl = testInfra().redisUrl,
): Promise<PublishedOnBus[]> {
  const result = await runPythonJson<{ sent: PublishedOnBus[] }>(SCRIPT, ['publish', redisUrl, JSON.stringify(events)]);
  return result.sent;
}

/** The seed's phase 0.2 from Python: PING, and one pattern-subscribed message round trip. */
export function redisRoundtrip(
  prefix: string,
  redisUrl = testInfra().redisUrl,
): Promise<{ ping: boolean; type: string; data: string }> {
  return runPythonJson(SCRIPT, ['roundtrip', redisUrl, prefix]);
}

export interface BusMessage {
  channel: string;
  /** As the original's subscriber parsed it into its `SystemEvent`. */
  event: Required<SystemEventFields>;
  /** Fields of the message its `SystemEvent` does not have (ignored by its readers). */
  extra: string[];
}

/** A Python subscriber on `events.*` that reports the messages about some entities, parsed as the original parses them. */
export class OmoiosBusSubscriber {
  readonly messages: BusMessage[] = [];
  private stderr = '';
  private ready = false;
  private exited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        const parsed = JSON.parse(line) as { ready?: boolean; done?: number } & Partial<BusMessage>;
        if (parsed.ready) this.ready = true;
        else if (parsed.channel) this.messages.push(parsed as BusMessage);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    child.on('exit', () => (this.exited = true));
  }

  /** Resolves once the subscription is active on the server. */
  static async start(
    entityIds: string[],
    { count = 100, seconds = 30, redisUrl = testInfra().redisUrl } = {},
  ): Promise<OmoiosBusSubscriber> {
    const child = spawn(
      omoiosPython(),
      [path.join(PYTHON_DIR, SCRIPT), 'subscribe', redisUrl, entityIds.join(','), String(count), String(seconds)],
      {
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const subscriber = new OmoiosBusSubscriber(child);
    await waitFor(() => subscriber.ready || subscriber.exited, 'the Python subscriber to subscribe', 20_000);
    if (!subscriber.ready) throw new Error(`the Python subscriber exited before subscribing:\n${subscriber.stderr}`);
    return subscriber;
  }

  async received(count: number, timeoutMs = 10_000): Promise<BusMessage[]> {
    await waitFor(
      () => this.messages.length >= count || this.exited,
      `${count} bus messages (have ${this.messages.length})`,
      timeoutMs,
    );
    if (this.messages.length < count)
      throw new Error(
        `the Python subscriber exited with ${this.messages.length} of ${count} messages:\n${this.stderr}`,
      );
    return this.messages.slice(0, count);
  }

  close(): void {
    if (!this.exited) this.child.kill('SIGTERM');
  }
}
