import WebSocket from 'ws';
import { waitFor } from '@sandbox-relay/testing';
import type { RelayProcess } from './process';

/** Node flags that open the inspector of a spawned service on a free port (pass as NODE_OPTIONS). */
export const INSPECT_NODE_OPTIONS = '--inspect=127.0.0.1:0';

export interface ProcessMemory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/**
 * Test-only introspection of a real service process through the V8 inspector it was started with
 * (`NODE_OPTIONS=--inspect=127.0.0.1:0`): force a full garbage collection and read
 * `process.memoryUsage()` inside it, so a memory bound is asserted on live data, not on garbage.
 */
export class ProcessInspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id === undefined) return;
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    });
  }

  static async attach(service: RelayProcess): Promise<ProcessInspector> {
    const url = await waitFor(
      () => service.logs.map((line) => /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1]).find(Boolean),
      'the inspector URL in the service output',
      10_000,
    );
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new ProcessInspector(ws);
  }

  /** Memory after a full GC in the inspected process. */
  async memoryAfterGc(): Promise<ProcessMemory> {
    await this.call('HeapProfiler.collectGarbage');
    const result = (await this.call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as {
      result: { value: string };
    };
    return JSON.parse(result.result.value) as ProcessMemory;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.close();
    await closed;
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
}
