import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SUPERVISOR_EVENT_TYPES } from '@sandbox-relay/contracts';
import { uniqueId, waitFor, WsProbe, type ProbeFrame } from '@sandbox-relay/testing';
import { startCluster, type RunningCluster } from './support/cluster';
import { metricValue } from './support/metrics';
import { PrivateRedis } from './support/private-redis';
import { buildWorkerBundle, getTask, ofType, postTask, processGone, resume, stopTask } from './support/supervision';

// `npm run cluster` as a black box: the launcher (tools/cluster.mjs) runs two replicas of every service
// behind Debian's nginx, configured from the compose edge. Everything below goes through the edge,
// except what must name a replica: which gateway serves a socket (its own /metrics) and, for the local
// provider, which supervisor started a worker and which one stops it.
describe('npm run cluster: two replicas of every service behind one nginx edge', () => {
  let redis: PrivateRedis;
  let cluster: RunningCluster;
  const probes: WsProbe[] = [];
  const tasks: string[] = [];
  let frozen: number | undefined;

  const post = async (sandbox: string, text: string): Promise<string> => {
    const res = await fetch(`${cluster.edgeUrl}/api/v1/sandboxes/${sandbox}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_type: 'agent.message', event_data: { text }, source: 'agent' }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  };
  const storedIds = async (sandbox: string, after = '0'): Promise<string[]> => {
    const res = await fetch(`${cluster.edgeUrl}/api/v1/sandboxes/${sandbox}/events?after=${after}&limit=1000`);
    return ((await res.json()) as { events: Array<{ id: string }> }).events.map((event) => event.id);
  };
  const eventIds = (frames: readonly ProbeFrame[]) => frames.filter((f) => f.event_type).map((f) => f.id);
  const clientsOpen = () =>
    Promise.all(cluster.replicas('gateway').map((gateway) => metricValue(gateway.url, 'relay_ws_clients_open')));
  /** Connects through the edge and tells which gateway replica took the socket (its open-clients gauge moved). */
  const connect = async (query: string): Promise<{ probe: WsProbe; gateway: number }> => {
    const before = await clientsOpen();
    const probe = await WsProbe.connect(`${cluster.wsUrl}/api/v1/events/ws/events?${query}`);
    probes.push(probe);
    const after = await waitFor(async () => {
      const now = await clientsOpen();
      return now.reduce((a, b) => a + b, 0) === before.reduce((a, b) => a + b, 0) + 1 && now;
    }, 'a gateway to count the new socket');
    return { probe, gateway: after.findIndex((open, i) => open === before[i]! + 1) };
  };
  const disconnect = async (probe: WsProbe) => {
    const before = (await clientsOpen()).reduce((a, b) => a + b, 0);
    await probe.close();
    await waitFor(
      async () => (await clientsOpen()).reduce((a, b) => a + b, 0) === before - 1,
      'the gateway to drop the socket',
    );
  };
  const parentPid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  const supervisorIndexOf = (workerPid: number) =>
    cluster.replicas('supervisor').findIndex((replica) => replica.pid === parentPid(workerPid));
  /** The local provider's handle of a worker, on the workspace root both supervisors share. */
  const handleFile = (sandbox: string) => path.join(cluster.workspaceRoot, '.sandbox-relay-handles', `${sandbox}.json`);
  const handlePid = (sandbox: string) => (JSON.parse(readFileSync(handleFile(sandbox), 'utf8')) as { pid: number }).pid;

  beforeAll(async () => {
    buildWorkerBundle();
    redis = await PrivateRedis.start();
    cluster = await startCluster({
      redisUrl: redis.url,
      env: {
        SUPERVISOR_HEARTBEAT_INTERVAL_MS: '1000',
        SUPERVISOR_HEARTBEAT_GRACE_MS: '1000',
        SUPERVISOR_STARTUP_GRACE_MS: '5000',
        SUPERVISOR_SWEEP_INTERVAL_MS: '250',
        SUPERVISOR_TERMINATE_GRACE_MS: '1000',
        SUPERVISOR_RESTART_BACKOFF_MS: '50',
        SUPERVISOR_RESTART_BACKOFF_MAX_MS: '200',
      },
    });
  }, 200_000);

  afterAll(async () => {
    resume(frozen);
    await Promise.all(probes.map((probe) => probe.close()));
    for (const id of tasks) await stopTask(cluster.edgeUrl, id).catch(() => undefined);
    await cluster?.stop();
    await redis?.stop();
  }, 60_000);

  it('serves the dashboard and the OpenAPI document through the edge; /metrics only on each replica', async () => {
    const page = await fetch(`${cluster.edgeUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/<script[^>]+src=/);
    const openapi = await fetch(`${cluster.edgeUrl}/api/v1/openapi.json`);
    expect(openapi.status).toBe(200);
    const document = (await openapi.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/api/v1/sandboxes/{sandboxId}/events', '/api/v1/tasks']),
    );
    expect((await fetch(`${cluster.edgeUrl}/metrics`)).status).toBe(404);
    for (const service of [
      'ingest',
      'gateway',
      'message-queue',
      'guardian',
      'supervisor',
      'branch-workflow',
    ] as const) {
      const replicas = cluster.replicas(service);
      expect(replicas.map((replica) => replica.status)).toEqual(['ready', 'ready']);
      for (const replica of replicas) expect((await fetch(`${replica.url}/metrics`)).status).toBe(200);
    }
  });

  it('streams events posted through the edge to clients on both gateway replicas, each exactly the stored log', async () => {
    const sandbox = uniqueId('cluster-fanout');
    const clients = [];
    for (let i = 0; i < 6; i += 1) clients.push(await connect(`entity_ids=${sandbox}`));
    expect(new Set(clients.map((client) => client.gateway))).toEqual(new Set([0, 1]));

    const posted = [];
    for (let i = 0; i < 5; i += 1) posted.push(await post(sandbox, `fan-out ${i}`));
    expect(await storedIds(sandbox)).toEqual(posted);
    for (const { probe } of clients) {
      await probe.events(5, 10_000);
      expect(eventIds(probe.frames)).toEqual(posted);
    }
  });

  it('resumes a client with `since` on the other gateway replica: exactly the rest of the log', async () => {
    const sandbox = uniqueId('cluster-resume');
    const first = await connect(`entity_ids=${sandbox}&since=0`);
    const seen = [];
    for (let i = 0; i < 3; i += 1) seen.push(await post(sandbox, `before ${i}`));
    await first.probe.events(3, 10_000);
    expect(eventIds(first.probe.frames)).toEqual(seen);
    await disconnect(first.probe);

    const missed = [];
    for (let i = 0; i < 3; i += 1) missed.push(await post(sandbox, `while away ${i}`));
    // nginx balances round robin without stickiness; reconnect until the other gateway takes the socket.
    let second = await connect(`entity_ids=${sandbox}&since=${seen.at(-1)}`);
    for (let attempt = 0; second.gateway === first.gateway && attempt < 8; attempt += 1) {
      await disconnect(second.probe);
      second = await connect(`entity_ids=${sandbox}&since=${seen.at(-1)}`);
    }
    expect(second.gateway).not.toBe(first.gateway);
    const marker = await post(sandbox, 'after the resume');
    await waitFor(() => eventIds(second.probe.frames).includes(marker), 'the marker after the resume', 10_000);
    expect(eventIds(second.probe.frames)).toEqual([...missed, marker]);
    expect(await storedIds(sandbox, seen.at(-1))).toEqual([...missed, marker]);
  });

  it('queues messages and drains them through the edge', async () => {
    const sandbox = uniqueId('cluster-messages');
    const url = `${cluster.edgeUrl}/api/v1/sandboxes/${sandbox}/messages`;
    const queued = [];
    for (const content of ['first', 'second', 'third']) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content }),
      });
      expect(res.status).toBe(200);
      queued.push(((await res.json()) as { message_id: string }).message_id);
    }
    const drained = (await (await fetch(url)).json()) as Array<{ message_id: string; content: string }>;
    expect(drained.map((message) => [message.message_id, message.content])).toEqual([
      [queued[0], 'first'],
      [queued[1], 'second'],
      [queued[2], 'third'],
    ]);
    expect(await (await fetch(url)).json()).toEqual([]);
  });

  it('runs a task on the local provider through the edge; its worker reports through the edge', async () => {
    const task = await postTask(cluster.edgeUrl, {
      title: 'cluster task',
      plan: {
        complete_when_done: true,
        steps: [{ say: 'hello from the cluster' }, { run: 'echo ran-in-the-cluster' }],
      },
      worker_env: { POLL_INTERVAL_MS: '100' },
    });
    tasks.push(task.id);
    const { probe } = await connect(`entity_ids=${task.sandbox_id}&since=0`);
    await waitFor(() => ofType(probe.frames, 'agent.completed').length > 0, 'agent.completed', 30_000);
    const completed = ofType(probe.frames, 'agent.tool_completed');
    expect(JSON.stringify(completed)).toContain('ran-in-the-cluster');
    expect(eventIds(probe.frames)).toEqual(await storedIds(task.sandbox_id!));
    await waitFor(
      async () => (await getTask(cluster.edgeUrl, task.id)).status === 'completed',
      'the task completed',
      20_000,
    );
  });

  it('restarts a hung local worker from either supervisor replica, and stops it through the replica that did not spawn it', async () => {
    const spawner = cluster.replicas('supervisor')[0]!;
    const task = await postTask(spawner.url, {
      title: 'hung in the cluster',
      plan: { steps: [{ say: 'about to hang' }, { sleep_ms: 600_000 }] },
      worker_env: { POLL_INTERVAL_MS: '100' },
    });
    tasks.push(task.id);
    const oldSandbox = task.sandbox_id!;
    const { probe } = await connect(`entity_ids=${oldSandbox},${task.id}&since=0`);
    await waitFor(() => ofType(probe.frames, 'agent.message', oldSandbox).length > 0, 'the worker to talk', 20_000);
    const oldPid = handlePid(oldSandbox);
    expect(supervisorIndexOf(oldPid)).toBe(0);

    process.kill(oldPid, 'SIGSTOP');
    frozen = oldPid;
    const restarted = await waitFor(
      () => ofType(probe.frames, SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED, oldSandbox)[0],
      'AGENT_RESTARTED',
      30_000,
    );
    frozen = undefined;
    await waitFor(() => processGone(oldPid), 'the hung worker to be gone', 10_000);
    const newSandbox = String(restarted.payload!['new_sandbox_id']);
    // AGENT_RESTARTED on the old sandbox's stream and on the task's, once each: one replica restarted it.
    expect(ofType(probe.frames, SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED).map((frame) => frame.entity_id)).toEqual([
      oldSandbox,
      task.id,
    ]);
    await waitFor(() => existsSync(handleFile(newSandbox)), "the replacement's handle", 20_000);
    const newPid = handlePid(newSandbox);
    const restarter = supervisorIndexOf(newPid);
    expect([0, 1]).toContain(restarter);

    const other = cluster.replicas('supervisor')[1 - restarter]!;
    expect(await stopTask(other.url, task.id)).toBe(200);
    await waitFor(() => processGone(newPid), 'the replacement to be stopped by the other replica', 15_000);
    expect(existsSync(handleFile(newSandbox))).toBe(false);
    expect((await getTask(cluster.edgeUrl, task.id)).status).toBe('stopped');
  }, 90_000);

  it('keeps a local worker whose supervisor replica was killed: it beats on and the other replica stops it', async () => {
    const task = await postTask(cluster.replicas('supervisor')[1]!.url, {
      title: 'orphaned in the cluster',
      plan: { steps: [{ say: 'outliving my supervisor' }, { sleep_ms: 600_000 }] },
      worker_env: { POLL_INTERVAL_MS: '100' },
    });
    tasks.push(task.id);
    const sandbox = task.sandbox_id!;
    await waitFor(() => existsSync(handleFile(sandbox)), "the worker's handle", 20_000);
    const worker = handlePid(sandbox);
    expect(supervisorIndexOf(worker)).toBe(1);

    const killed = cluster.signal('supervisor', 1, 'SIGKILL');
    await waitFor(() => cluster.replicas('supervisor')[1]!.pid !== killed, 'the launcher to see supervisor-1 exit');
    // The worker leads its own process group: it outlives its supervisor and keeps reporting through the edge.
    const { probe } = await connect(`entity_ids=${sandbox}&event_types=heartbeat`);
    await probe.events(2, 10_000);
    expect(processGone(worker)).toBe(false);
    expect(await stopTask(cluster.replicas('supervisor')[0]!.url, task.id)).toBe(200);
    await waitFor(() => processGone(worker), 'the orphaned worker to be stopped', 15_000);
    expect((await getTask(cluster.edgeUrl, task.id)).status).toBe('stopped');
    await cluster.waitReady('supervisor', 1, 30_000);
  }, 90_000);

  it('restarts a replica killed with SIGKILL on its own port, while the edge sends its traffic to the other', async () => {
    const before = cluster.replicas('ingest')[1]!;
    cluster.signal('ingest', 1, 'SIGKILL');
    // Once the process is gone its port refuses connections, and nginx passes a refused request (even a
    // POST: nothing was sent) to the other replica. A request already sent when the kill lands answers 502
    // (nginx does not resend a POST that may have been processed); clients retry those, as the worker does.
    await waitFor(() => cluster.replicas('ingest')[1]!.pid !== before.pid, 'the launcher to see ingest-1 exit');
    const sandbox = uniqueId('cluster-failover');
    const posted = [];
    for (let i = 0; i < 10; i += 1) posted.push(await post(sandbox, `during the restart ${i}`));
    await waitFor(
      () => {
        const now = cluster.replicas('ingest')[1]!;
        return now.pid !== before.pid && now.pid !== null && now.status === 'ready';
      },
      'ingest-1 restarted and ready',
      30_000,
    );
    const after = cluster.replicas('ingest')[1]!;
    expect(after).toMatchObject({ port: before.port, restarts: before.restarts + 1 });
    expect(cluster.state().replicas.find((r) => r.service === 'ingest' && r.index === 1)!.lastExit).toMatchObject({
      signal: 'SIGKILL',
    });
    expect(await cluster.waitReady('ingest', 1, 5_000)).toBeLessThan(5_000);
    expect(await storedIds(sandbox)).toEqual(posted);
  }, 60_000);

  it('stops on SIGTERM: every replica drains and exits 143, nginx quits, the launcher exits 143', async () => {
    const pids = cluster.state().replicas.map((replica) => replica.pid);
    expect(await cluster.stop()).toEqual({ code: 143, signal: null });
    const state = cluster.state();
    for (const replica of state.replicas) {
      expect({
        replica: `${replica.service}-${replica.index}`,
        status: replica.status,
        exit: replica.lastExit?.code,
      }).toEqual({ replica: `${replica.service}-${replica.index}`, status: 'stopped', exit: 143 });
    }
    expect(state.edge).toMatchObject({ status: 'stopped', pid: null, lastExit: { code: 0, signal: null } });
    expect(pids.every((pid) => pid !== null && processGone(pid))).toBe(true);
  }, 60_000);
});
