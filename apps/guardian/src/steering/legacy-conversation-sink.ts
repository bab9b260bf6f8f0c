import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  GUARDIAN_MESSAGE_TYPE,
  type GuardianTask,
  type Intervention,
  type LegacyConversationSink,
  type LegacyDelivery,
} from './routing';

export const INTERVENTIONS_FILE = 'interventions.jsonl';

export interface ConversationFileSinkOptions {
  /**
   * When set, conversation directories must lie inside it. `conversationDir` comes from the task row;
   * without a root, whoever can write a task decides where the guardian writes files.
   */
  root?: string;
}

/** One line of `interventions.jsonl`, the legacy agent's inbox. */
export interface ConversationInterventionLine {
  type: typeof GUARDIAN_MESSAGE_TYPE;
  content: string;
  /** ISO-8601 decision time. */
  at: string;
  task_id: string;
}

/**
 * The legacy path of seed phase 6: a local agent reads steering messages from
 * `<conversationDir>/interventions.jsonl`. Each intervention is one JSON line appended with
 * O_APPEND (flag 'a'), so concurrent guardians append whole lines instead of overwriting each other.
 */
export class ConversationFileSink implements LegacyConversationSink {
  private readonly root?: string;

  constructor(options: ConversationFileSinkOptions = {}) {
    this.root = options.root ? path.resolve(options.root) : undefined;
  }

  async append(task: GuardianTask, intervention: Intervention): Promise<LegacyDelivery> {
    const dir = this.directoryOf(task);
    if (!dir.ok) return dir;
    const line: ConversationInterventionLine = {
      type: GUARDIAN_MESSAGE_TYPE,
      content: intervention.content,
      at: new Date(intervention.at).toISOString(),
      task_id: task.id,
    };
    await mkdir(dir.path, { recursive: true });
    // JSON.stringify escapes newlines inside the content, so a line is exactly one intervention.
    await appendFile(path.join(dir.path, INTERVENTIONS_FILE), `${JSON.stringify(line)}\n`, {
      encoding: 'utf8',
      flag: 'a',
    });
    return { ok: true };
  }

  private directoryOf(task: GuardianTask): { ok: true; path: string } | { ok: false; reason: string } {
    const dir = task.conversationDir?.trim();
    if (!dir) return { ok: false, reason: `task ${task.id} has neither a sandbox nor a conversation directory` };
    // A relative path would land wherever the guardian happens to run.
    if (!path.isAbsolute(dir))
      return { ok: false, reason: `task ${task.id} conversation directory is not absolute: ${dir}` };
    const resolved = path.resolve(dir);
    if (this.root && resolved !== this.root && !resolved.startsWith(`${this.root}${path.sep}`)) {
      return { ok: false, reason: `task ${task.id} conversation directory is outside ${this.root}` };
    }
    return { ok: true, path: resolved };
  }
}
