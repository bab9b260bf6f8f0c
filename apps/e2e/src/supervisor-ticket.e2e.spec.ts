import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BRANCH_WORKFLOW_EVENT_TYPES } from '@sandbox-relay/contracts';
import { FakeGitHubServer } from '@sandbox-relay/github/testing';
import { WsProbe, uniqueId, waitFor } from '@sandbox-relay/testing';
import { startRelay, type RunningRelay } from './support/relay';
import { buildWorkerBundle, getTask, postTask, stopTask } from './support/supervision';

const REPO = 'myorg/ticketed';

// A task started through the supervisor's edge with a ticket drives the branch workflow end to end:
// the standalone's supervisor spawns the real worker bundle (local provider), its TASK_STARTED makes
// the ticket's branch on a local GitHub REST server (through the real Octokit client), and the worker
// completing its plan opens the pull request.
describe('supervisor edge with a ticket: branch and pull request', () => {
  let github: FakeGitHubServer;
  let relay: RunningRelay;
  const tasks: string[] = [];
  const markers: string[] = [];

  beforeAll(async () => {
    buildWorkerBundle();
    github = await FakeGitHubServer.start();
    github.createRepo(REPO, { files: { 'README.md': '# ticketed\n' } });
    relay = await startRelay({
      QUEUE_PREFIX: uniqueId('sup-ticket'),
      GITHUB_TOKEN: github.token,
      GITHUB_REPOSITORY: REPO,
      GITHUB_API_URL: github.baseUrl,
      GITHUB_WRITE_INTERVAL_MS: '0',
      GITHUB_NOTIFICATION_INTERVAL_MS: '0',
    });
  });

  afterAll(async () => {
    for (const id of tasks) await stopTask(relay.http, id);
    await relay.stop();
    await github.stop();
    for (const marker of markers) rmSync(marker, { force: true });
  });

  it('POST /api/v1/tasks with ticket_id: BRANCH_CREATED streamed and the branch on GitHub; the worker completing opens the PR', async () => {
    const ticket = uniqueId('T');
    const segment = ticket.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    // The worker's plan waits for this file, so the test can push a commit to the branch before the worker completes.
    const marker = path.join(tmpdir(), `${uniqueId('ticket-go')}.flag`);
    markers.push(marker);
    const waitForMarker =
      "const fs=require('fs');const p=process.argv[1];(function w(){fs.existsSync(p)?process.exit(0):setTimeout(w,50)})()";
    const probe = await WsProbe.connect(
      `${relay.ws}/api/v1/events/ws/events?entity_types=ticket&entity_ids=${ticket}&since=0`,
    );
    try {
      const task = await postTask(relay.http, {
        title: 'Add password reset',
        description: 'Users reset their password by e-mail link.',
        ticket_id: ticket,
        plan: {
          complete_when_done: true,
          steps: [{ say: 'working on the ticket' }, { run: ['node', '-e', waitForMarker, marker], timeout_ms: 60_000 }],
        },
        worker_env: { POLL_INTERVAL_MS: '100' },
      });
      tasks.push(task.id);
      expect(task).toMatchObject({ ticket_id: ticket, status: 'running' });
      expect((await getTask(relay.http, task.id)).ticket_id).toBe(ticket);

      const [created] = await probe.events(1, 30_000);
      expect(created).toMatchObject({
        event_type: BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED,
        entity_type: 'ticket',
        entity_id: ticket,
      });
      const branch = `feature/${segment}-add-password-reset`;
      expect(created!.payload).toMatchObject({ branch_name: branch, task_id: task.id });
      expect(github.branchSha(REPO, branch)).toBe(github.branchSha(REPO, 'main'));

      github.push(REPO, branch, { 'src/reset.py': 'def reset():\n    pass\n' });
      writeFileSync(marker, 'go\n');
      const opened = await waitFor(
        () => probe.frames.find((frame) => frame.event_type === BRANCH_WORKFLOW_EVENT_TYPES.PR_OPENED),
        'PR_OPENED on the ticket',
        60_000,
      );
      const number = Number(opened.payload!.pr_number);
      expect(github.pull(REPO, number)).toMatchObject({ head: branch, base: 'main', state: 'open' });
      expect(github.pull(REPO, number).title).toBe(`Add password reset (${ticket})`);
      expect(github.pull(REPO, number).body).toContain('Users reset their password by e-mail link.');
    } finally {
      await probe.close();
    }
  });
});
