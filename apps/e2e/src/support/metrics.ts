/** Sum of a Prometheus metric's samples (every label set, or those whose labels contain `labelMatch`) on a service's /metrics. */
export async function metricValue(http: string, name: string, labelMatch = ''): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !(line[name.length] === ' ' || line[name.length] === '{')) continue;
    if (labelMatch && !line.includes(labelMatch)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
