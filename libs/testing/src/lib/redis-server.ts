import { execFile, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { waitFor } from './wait';

const run = promisify(execFile);

/** A TCP port that was free a moment ago (the OS picks it). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout;
}

async function answers(port: number): Promise<boolean> {
  try {
    return (await redisCli(port, 'PING')).trim() === 'PONG';
  } catch {
    return false;
  }
}

/**
 * A redis-server process of a test's own on `port`, from the machine's redis-server, keeping nothing on
 * disk (`args` adds to that, e.g. cluster mode): started, killed as in a crash, started again.
 */
export class RedisServerProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;

  constructor(
    readonly port: number,
    private readonly args: readonly string[] = [],
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts it (again, after `stop`, on the same port and with the same arguments); resolves once it answers PING. */
  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', ...this.args, '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitFor(() => answers(this.port), `redis-server on ${this.port} to answer`, 10_000, 50);
  }

  /**
   * SIGSTOP: the server stops answering while its connections stay open, as a node behind a network
   * partition or a stalled VM looks to its clients (nothing closes, nothing answers). `resume()` undoes it.
   */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT: a paused server carries out what it was sent meanwhile and answers again. */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGKILL: every connection drops at once, as in a crash. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
  }
}
