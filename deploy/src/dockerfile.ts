import { readFileSync } from 'node:fs';

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** A Dockerfile's stages and their instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(file: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = readFileSync(file, 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const match = /^(\S+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`${file}: cannot parse "${line}"`);
    const keyword = match[1]!.toUpperCase();
    const rest = match[2]!;
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`${file}: cannot parse "${line}"`);
      stages.push({ name: from[2] ?? String(stages.length), from: from[1]!, instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (keyword !== 'ARG') throw new Error(`${file}: ${keyword} before the first FROM`);
      const [name, value = ''] = rest.split('=');
      args[name!] = value;
      continue;
    }
    stage.instructions.push({ keyword, args: rest });
  }
  return { args, stages };
}

/** `ENV A=1 B=2` → {A: '1', B: '2'} over a stage and the stages it is built FROM. */
export function stageEnv(stages: Stage[], name: string): Record<string, string> {
  const stage = stages.find((candidate) => candidate.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  const inherited = stages.some((candidate) => candidate.name === stage.from) ? stageEnv(stages, stage.from) : {};
  const own: Record<string, string> = {};
  for (const instruction of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const pair of instruction.args.match(/\S+=("[^"]*"|\S+)/g) ?? []) {
      const at = pair.indexOf('=');
      own[pair.slice(0, at)] = pair.slice(at + 1).replace(/^"|"$/g, '');
    }
  }
  return { ...inherited, ...own };
}

/** A stage's last instruction of a kind, and the chain of stages it builds FROM. */
export function lastOf(stages: Stage[], name: string, keyword: string): Instruction | undefined {
  const stage = stages.find((candidate) => candidate.name === name);
  if (!stage) return undefined;
  const own = stage.instructions.filter((instruction) => instruction.keyword === keyword).pop();
  return own ?? lastOf(stages, stage.from, keyword);
}

/** `COPY --from=build /src/x ./x` → {from: 'build', source: '/src/x', target: './x'}. */
export function copies(stage: Stage): Array<{ from?: string; source: string; target: string }> {
  return stage.instructions
    .filter((instruction) => instruction.keyword === 'COPY')
    .map((instruction) => {
      const parts = instruction.args.split(/\s+/);
      const from = parts.find((part) => part.startsWith('--from='))?.slice('--from='.length);
      const paths = parts.filter((part) => !part.startsWith('--'));
      return { from, source: paths.slice(0, -1).join(' '), target: paths[paths.length - 1]! };
    });
}

/**
 * A RUN's shell command without its BuildKit flags (`--mount=…`) and leading variable assignments:
 * `RUN --mount=type=secret,id=npm_ca NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca npm ci` → `npm ci`.
 */
export function runCommand(instruction: Instruction): string {
  return instruction.args.replace(/^(?:--\S+\s+)*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*/, '');
}
