/**
 * Reads one sample out of a Prometheus text exposition (what `GET /metrics` answers): the value of
 * `name` whose labels include every pair in `labels`, summed over the samples that match (so a test
 * can ask for "all 2xx of this route" without naming every other label). Undefined when none match.
 */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const sampleLabels = parseLabels(match[2] ?? '');
    if (!Object.entries(labels).every(([key, value]) => sampleLabels[key] === value)) continue;
    total = (total ?? 0) + Number(match[3]);
  }
  return total;
}

/** Every label set a metric has samples for (to check that labels stay bounded). */
export function metricLabelSets(exposition: string, name: string): Array<Record<string, string>> {
  const sets: Array<Record<string, string>> = [];
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match && match[1] === name) sets.push(parseLabels(match[2] ?? ''));
  }
  return sets;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    labels[pair[1] as string] = (pair[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return labels;
}
