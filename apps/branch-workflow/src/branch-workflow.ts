import {
  BRANCH_WORKFLOW_EVENT_TYPES,
  ENTITY_TYPES,
  type BranchComparisonView,
  type BranchNameKind,
  type BranchWorkView,
  type BranchWorkflowEventData,
  type BranchWorkflowEventType,
  type BranchWorkflowStep,
  type MergeMethodName,
} from '@sandbox-relay/contracts';
import { GitHubError, repoName, type GitHubClient, type PullRequest, type RepoRef } from '@sandbox-relay/github';
import { NotFoundError, ValidationError, type Logger } from '@sandbox-relay/service-kit';
import type { EventRepository, EventSink } from '@sandbox-relay/store';
import { branchName, slugFor, type BranchNamer } from './branch-naming';
import type { TaskRepository } from '@sandbox-relay/store';
import type { BranchWorkRecord, BranchWorkRepository, TicketLocks } from './branch-work.repository';
import { agentSummary, pullRequestBody, pullRequestTitle } from './pr-body';
import { GitHubNotConfiguredError, WorkflowConflictError, failureCode } from './workflow-errors';
import { counted } from './branch-workflow.metrics';

/** Names tried for one ticket (`…-2`, `…-3`, …) before giving up. */
const MAX_NAME_CANDIDATES = 20;

export interface BranchWorkflowDeps {
  /** `null` when GitHub is not configured: every operation then throws GitHubNotConfiguredError. */
  github: { client: GitHubClient; repo: RepoRef } | null;
  works: BranchWorkRepository;
  /** Serializes the steps of one ticket across replicas. */
  locks: TicketLocks;
  tasks: TaskRepository;
  events: EventRepository;
  /** Stores then publishes the workflow's events (source `branch-workflow`). */
  sink: EventSink;
  namer?: BranchNamer;
  logger: Logger;
  config: { mergeMethod: MergeMethodName; mergeablePoll: { attempts: number; intervalMs: number } };
}

export interface StartWork {
  ticketId: string;
  title: string;
  description?: string;
  taskId?: string;
  kind?: BranchNameKind;
}

/**
 * A ticket's work on GitHub: a branch from the default branch, a pull request, a merge. Every step
 * checks the recorded state and GitHub's own state before acting, so repeating a step (a retried
 * job, a second click) returns what was done instead of doing it twice; every step that changes
 * something is stored and published as an event on entity `ticket/<ticket id>`.
 */
export class BranchWorkflow {
  constructor(private readonly deps: BranchWorkflowDeps) {}

  get configured(): boolean {
    return this.deps.github !== null;
  }

  /** Creates `<kind>/<ticket>-<slug>` from the default branch's head; returns the existing branch if the ticket has one. */
  startWorkOnTicket(input: StartWork): Promise<BranchWorkView> {
    return counted('start', () => this.oneAtATime(input.ticketId, () => this.start(input)));
  }

  /** Opens the pull request of the ticket's branch (body: the ticket, the agent's summary, the files changed). */
  finishWorkOnTicket(input: { ticketId: string; summary?: string }): Promise<BranchWorkView> {
    return counted('pull_request', () => this.oneAtATime(input.ticketId, () => this.finish(input)));
  }

  /** Merges the ticket's pull request when GitHub says it is mergeable, then deletes the branch. Never merges twice. */
  mergeTicketWork(input: { ticketId: string; method?: MergeMethodName }): Promise<BranchWorkView> {
    return counted('merge', () => this.oneAtATime(input.ticketId, () => this.merge(input)));
  }

  private oneAtATime<T>(ticketId: string, step: () => Promise<T>): Promise<T> {
    const { repo } = this.github();
    return this.deps.locks.withLock(repoName(repo), ticketId, step);
  }

  private async start(input: StartWork): Promise<BranchWorkView> {
    const { client, repo } = this.github();
    const existing = await this.deps.works.latestForTicket(repoName(repo), input.ticketId);
    if (existing && existing.state === 'creating') return (await this.createRef(existing, true))!;
    if (existing && existing.state !== 'completed') return view(existing, false);
    if (input.taskId && !(await this.deps.tasks.byId(input.taskId)))
      throw new ValidationError([{ field: 'task_id', message: `names no task (${input.taskId})` }]);
    const base = await client.getDefaultBranch(repo);
    const slug = await slugFor(
      { id: input.ticketId, title: input.title, description: input.description },
      this.deps.namer,
      (error) =>
        this.deps.logger.warn({ err: error, ticketId: input.ticketId }, 'branch namer failed; using the title'),
    );
    for (let attempt = 1; attempt <= MAX_NAME_CANDIDATES; attempt += 1) {
      const name = branchName(input.kind ?? 'feature', input.ticketId, slug, attempt);
      if ((await client.getBranchSha(repo, name)) !== null) continue;
      const claimed = await this.deps.works.claim({
        ticketId: input.ticketId,
        taskId: input.taskId ?? null,
        repo: repoName(repo),
        branchName: name,
        baseBranch: base.name,
        baseSha: base.sha,
        ticketTitle: input.title,
        ticketDescription: input.description ?? null,
      });
      if (!claimed) {
        const holder = await this.deps.works.byBranch(repoName(repo), name);
        if (holder && holder.ticketId === input.ticketId && holder.state !== 'completed') return view(holder, false);
        continue;
      }
      const created = await this.createRef(claimed, false);
      if (created) return created;
    }
    throw new WorkflowConflictError(
      'no_branch_name',
      `no free branch name for ticket ${input.ticketId} after ${MAX_NAME_CANDIDATES} candidates`,
    );
  }

  private async finish(input: { ticketId: string; summary?: string }): Promise<BranchWorkView> {
    const { client, repo } = this.github();
    const work = await this.requireWork(repo, input.ticketId);
    if (work.state === 'creating')
      throw new WorkflowConflictError(
        'branch_not_ready',
        `the branch of ticket ${input.ticketId} is still being created`,
      );
    if (work.prNumber !== null) return view(work, false);
    const comparison = await client.compare(repo, work.baseBranch, work.branchName);
    if (comparison.aheadBy === 0) {
      throw new WorkflowConflictError(
        'no_commits',
        `${work.branchName} has no commits ahead of ${work.baseBranch}: nothing to open a pull request for`,
      );
    }
    const task = work.taskId ? await this.deps.tasks.byId(work.taskId) : null;
    const summary = input.summary ?? (task ? await agentSummary(this.deps.events, task) : undefined);
    const title = work.ticketTitle ?? task?.title ?? `Ticket ${work.ticketId}`;
    const body = pullRequestBody({
      ticketId: work.ticketId,
      title,
      description: work.ticketDescription ?? task?.description,
      taskId: work.taskId,
      summary,
      comparison,
    });
    let pull: PullRequest;
    try {
      pull = await client.createPullRequest(repo, {
        title: pullRequestTitle(title, work.ticketId),
        head: work.branchName,
        base: work.baseBranch,
        body,
      });
    } catch (error) {
      // Opened by an earlier attempt whose answer was lost: adopt it.
      const adopted =
        error instanceof GitHubError && error.kind === 'already_exists'
          ? await client.findPullRequestByHead(repo, work.branchName)
          : null;
      if (!adopted) throw error;
      pull = adopted;
    }
    await this.record(BRANCH_WORKFLOW_EVENT_TYPES.PR_OPENED, work, {
      pr_number: pull.number,
      pr_url: pull.htmlUrl,
      files_changed: comparison.files.length,
    });
    return view(
      await this.deps.works.update(work.id, { state: 'pr_opened', prNumber: pull.number, prUrl: pull.htmlUrl }),
      true,
    );
  }

  private async merge(input: { ticketId: string; method?: MergeMethodName }): Promise<BranchWorkView> {
    const { client, repo } = this.github();
    let work = await this.requireWork(repo, input.ticketId);
    if (work.state === 'completed') return view(work, false);
    if (work.prNumber === null)
      throw new WorkflowConflictError(
        'no_pull_request',
        `ticket ${input.ticketId} has no pull request yet; open one first`,
      );
    if (work.state !== 'merged') {
      const mergeSha = await this.mergeOnce(
        client,
        repo,
        work.prNumber,
        input.method ?? this.deps.config.mergeMethod,
        work,
      );
      work = await this.deps.works.update(work.id, { state: 'merged', mergeSha });
    }
    const deleted = await client.deleteBranch(repo, work.branchName);
    await this.record(BRANCH_WORKFLOW_EVENT_TYPES.PR_MERGED, work, {
      pr_number: work.prNumber,
      pr_url: work.prUrl,
      merge_sha: work.mergeSha,
      branch_deleted: deleted,
    });
    return view(await this.deps.works.update(work.id, { state: 'completed' }), true);
  }

  /** How far the ticket's branch is from its base, and the files it changed. */
  async compare(ticketId: string): Promise<BranchComparisonView> {
    const { client, repo } = this.github();
    const work = await this.requireWork(repo, ticketId);
    const head =
      work.state === 'completed' || work.state === 'merged' ? (work.mergeSha ?? work.branchName) : work.branchName;
    const comparison = await client.compare(repo, work.baseBranch, head);
    return {
      ticket_id: ticketId,
      branch_name: work.branchName,
      base_branch: work.baseBranch,
      status: comparison.status,
      ahead_by: comparison.aheadBy,
      behind_by: comparison.behindBy,
      files: comparison.files,
    };
  }

  /**
   * How far any branch of the repository is from its base: the ticket's base when the relay started
   * it, else the default branch (the original system's `status`, which names a branch, not a ticket).
   */
  async compareBranch(
    branchName: string,
  ): Promise<{ baseBranch: string; status: string; aheadBy: number; behindBy: number }> {
    const { client, repo } = this.github();
    if ((await client.getBranchSha(repo, branchName)) === null)
      throw new NotFoundError(`${repoName(repo)} has no branch ${branchName}`);
    const work = await this.deps.works.byBranch(repoName(repo), branchName);
    const baseBranch = work?.baseBranch ?? (await client.getDefaultBranch(repo)).name;
    const comparison = await client.compare(repo, baseBranch, branchName);
    return { baseBranch, status: comparison.status, aheadBy: comparison.aheadBy, behindBy: comparison.behindBy };
  }

  async current(ticketId: string): Promise<BranchWorkView> {
    const { repo } = this.github();
    return view(await this.requireWork(repo, ticketId), false);
  }

  /** Records BRANCH_WORKFLOW_FAILED for a step that will not be retried (a person or a job gave up). */
  async recordFailure(
    step: BranchWorkflowStep,
    ticketId: string,
    taskId: string | undefined,
    error: unknown,
  ): Promise<void> {
    if (error instanceof GitHubNotConfiguredError) return;
    const repository = this.deps.github ? repoName(this.deps.github.repo) : '';
    const work = this.deps.github
      ? await this.deps.works.latestForTicket(repository, ticketId).catch(() => null)
      : null;
    const { code, githubStatus, message } = failureCode(error);
    const data: BranchWorkflowEventData = {
      ticket_id: ticketId,
      task_id: work?.taskId ?? taskId ?? null,
      repo: repository,
      branch_name: work?.branchName ?? null,
      base_branch: work?.baseBranch ?? null,
      pr_number: work?.prNumber ?? null,
      step,
      code,
      ...(githubStatus ? { github_status: githubStatus } : {}),
      message,
    };
    await this.append(BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_WORKFLOW_FAILED, ticketId, data);
  }

  /** Creates the claimed ref. `resuming`: an earlier attempt claimed the name, so a ref already there is ours. */
  private async createRef(work: BranchWorkRecord, resuming: boolean): Promise<BranchWorkView | null> {
    const { client, repo } = this.github();
    const sha = work.baseSha ?? (await client.getDefaultBranch(repo)).sha;
    try {
      await client.createBranch(repo, work.branchName, sha);
    } catch (error) {
      if (!(error instanceof GitHubError && error.kind === 'ref_exists')) {
        if (!resuming) await this.deps.works.release(work.id);
        throw error;
      }
      // Our own create whose answer was lost (the client retried it) finds the ref at the very commit we
      // asked for; a ref elsewhere means someone else took the name between our look and our create.
      if (!resuming && (await client.getBranchSha(repo, work.branchName)) !== sha) {
        await this.deps.works.release(work.id);
        return null;
      }
    }
    await this.record(BRANCH_WORKFLOW_EVENT_TYPES.BRANCH_CREATED, work, {});
    return view(await this.deps.works.update(work.id, { state: 'started' }), true);
  }

  /** Merges unless GitHub already has (an earlier attempt whose answer was lost); returns the merge commit. */
  private async mergeOnce(
    client: GitHubClient,
    repo: RepoRef,
    number: number,
    method: MergeMethodName,
    work: BranchWorkRecord,
  ): Promise<string> {
    const pull = await this.settledPull(client, repo, number);
    if (pull.merged) return pull.mergeCommitSha ?? '';
    if (pull.state === 'closed')
      throw new WorkflowConflictError(
        'pull_request_closed',
        `pull request #${number} of ticket ${work.ticketId} was closed without merging`,
      );
    if (pull.mergeable === false) {
      throw new GitHubError(
        'not_mergeable',
        405,
        `merge pull request #${number}: GitHub reports it not mergeable (mergeable_state: ${pull.mergeableState})`,
      );
    }
    try {
      return (
        await client.mergePullRequest(repo, number, {
          method,
          expectedHeadSha: pull.headSha,
          commitTitle: `${work.ticketTitle ?? work.ticketId} (#${number})`,
        })
      ).sha;
    } catch (error) {
      if (!(error instanceof GitHubError && error.kind === 'not_mergeable')) throw error;
      const again = await client.getPullRequest(repo, number);
      if (again.merged) return again.mergeCommitSha ?? '';
      throw error;
    }
  }

  /** Reads the pull request until GitHub has computed its mergeability (bounded). */
  private async settledPull(client: GitHubClient, repo: RepoRef, number: number): Promise<PullRequest> {
    const { attempts, intervalMs } = this.deps.config.mergeablePoll;
    let pull = await client.getPullRequest(repo, number);
    for (let attempt = 1; attempt < attempts && pull.state === 'open' && pull.mergeable === null; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      pull = await client.getPullRequest(repo, number);
    }
    return pull;
  }

  private async requireWork(repo: RepoRef, ticketId: string): Promise<BranchWorkRecord> {
    const work = await this.deps.works.latestForTicket(repoName(repo), ticketId);
    if (!work) throw new NotFoundError(`ticket ${ticketId} has no branch in ${repoName(repo)}; start work on it first`);
    return work;
  }

  private github(): { client: GitHubClient; repo: RepoRef } {
    if (!this.deps.github) throw new GitHubNotConfiguredError();
    return this.deps.github;
  }

  /**
   * Stores a step's event, once per work: a step that crashed after its event and before its state
   * write runs again (under the same ticket lock) and finds the event already there. A work is one
   * repository branch (`branch_work` is unique by repo and branch name), so those identify its events.
   */
  private async record(
    type: BranchWorkflowEventType,
    work: BranchWorkRecord,
    extra: Partial<BranchWorkflowEventData>,
  ): Promise<void> {
    const earlier = await this.deps.events.list({
      entityTypes: [ENTITY_TYPES.TICKET],
      entityIds: [work.ticketId],
      eventTypes: [type],
      order: 'desc',
      limit: 50,
    });
    if (
      earlier.some((event) => event.payload['repo'] === work.repo && event.payload['branch_name'] === work.branchName)
    )
      return;
    await this.append(type, work.ticketId, {
      ticket_id: work.ticketId,
      task_id: work.taskId,
      repo: work.repo,
      branch_name: work.branchName,
      base_branch: work.baseBranch,
      ...extra,
    });
  }

  private async append(type: BranchWorkflowEventType, ticketId: string, data: BranchWorkflowEventData): Promise<void> {
    await this.deps.sink.emit(type, { entityType: ENTITY_TYPES.TICKET, entityId: ticketId }, data);
  }
}

function view(work: BranchWorkRecord, changed: boolean): BranchWorkView {
  return {
    ticket_id: work.ticketId,
    task_id: work.taskId,
    repo: work.repo,
    branch_name: work.branchName,
    base_branch: work.baseBranch,
    base_sha: work.baseSha,
    state: work.state,
    pr_number: work.prNumber,
    pr_url: work.prUrl,
    merge_sha: work.mergeSha,
    changed,
  };
}
