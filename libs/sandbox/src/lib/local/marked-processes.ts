import { readdirSync, readFileSync } from 'node:fs';

/**
 * Env var the local provider gives each worker, a fresh random value per sandbox. The worker passes
 * its env on to every command it runs, and those run in process groups of their own (so that an
 * interrupt can kill one command's group): the worker's group does not hold them, this mark does.
 */
export const SANDBOX_MARK_VARIABLE = 'SANDBOX_RELAY_SANDBOX_KEY';

/**
 * SIGKILLs every process (other than this one) whose initial env holds `SANDBOX_RELAY_SANDBOX_KEY=<mark>`:
 * whatever a sandbox's worker started, in any process group, even orphaned. Linux only (/proc);
 * elsewhere nothing is found. Returns how many were signalled.
 */
export function killMarked(mark: string): number {
  const needle = Buffer.from(`${SANDBOX_MARK_VARIABLE}=${mark}\0`);
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  let killed = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`);
      // NUL-separated entries: match a whole one, at the start or right after a NUL.
      const at = environ.indexOf(needle);
      if (at === 0 || (at > 0 && environ[at - 1] === 0)) {
        process.kill(Number(entry), 'SIGKILL');
        killed += 1;
      }
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return killed;
}
