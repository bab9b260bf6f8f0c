/**
 * The cluster's nginx config, generated from the compose edge's (docker/edge.nginx.conf) so the routes
 * live in one file: the same locations and upstream blocks, each `upstream <service>` block's server line
 * replaced by one per replica (its other directives, keepalive among them, kept), and the listen port,
 * pid and temp paths moved to the cluster's own. Anything in the source this does not know how to carry
 * over throws, so a change to the compose edge that the cluster would silently miss fails its spec instead.
 */
export interface EdgeConfigOptions {
  listen: { host: string; port: number };
  /** Replica ports per service name (an `upstream` block's name in the compose config). */
  upstreams: Record<string, number[]>;
  /** The replicas' interface. */
  upstreamHost: string;
  /** Absolute directory for the pid file and the temp paths. */
  prefixDir: string;
  /** Access log path (with the replica that answered, `upstream=`), or off. */
  accessLog: string | null;
  /** `user` directive: nginx started as root runs its workers as this user (e.g. `nobody nogroup`). */
  user: string | null;
  /** Bound on a graceful quit (SIGQUIT): open WebSockets are closed after it. */
  shutdownTimeoutS: number;
}

export class EdgeConfigError extends Error {
  constructor(message: string) {
    super(`docker/edge.nginx.conf: ${message}`);
    this.name = 'EdgeConfigError';
  }
}

const UPSTREAM_OPEN = /^\s*upstream\s+([A-Za-z0-9-]+)\s*\{\s*$/;
const UPSTREAM_SERVER = /^(\s*)server\s+[^;]+;\s*$/;
const BLOCK_CLOSE = /^\s*\}\s*$/;
const PROXY_PASS = /^(\s*)proxy_pass\s+http:\/\/([A-Za-z0-9-]+)\s*;\s*$/;
const PID = /^(\s*)pid\s+\S+\s*;\s*$/;
const LISTEN = /^(\s*)listen\s+\S+\s*;\s*$/;
const TEMP_PATH = /^(\s*)(client_body|proxy|fastcgi|uwsgi|scgi)_temp_path\s+(\S+)\s*;\s*$/;
const HTTP_OPEN = /^\s*http\s*\{\s*$/;
/**
 * Directives that would need a cluster-specific translation this generator does not have. An `upstream` or
 * `proxy_pass` line lands here only in another shape than UPSTREAM_OPEN's and PROXY_PASS's (a proxy_pass to a host and port
 * would bypass the replicas).
 */
const UNSUPPORTED = /^\s*(include|upstream|resolver|daemon|user|error_log|load_module|ssl_\w+|proxy_pass)\b/;

/** The names of the source's `upstream` blocks, in order: the services its routes reach. */
export function edgeUpstreams(source: string): string[] {
  return source
    .split('\n')
    .map((line) => UPSTREAM_OPEN.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

interface Translation {
  counts: { pid: number; listen: number; http: number; proxyPass: number };
  /** Upstreams some proxy_pass names. */
  used: Set<string>;
  /** The upstream block being read, and how many server lines it had so far. */
  upstream: { name: string; servers: number } | null;
}

export function clusterEdgeConfig(source: string, options: EdgeConfigOptions): string {
  const defined = edgeUpstreams(source);
  const twice = defined.filter((name, i) => defined.indexOf(name) !== i);
  if (twice.length > 0) throw new EdgeConfigError(`upstream ${twice.join(', ')} defined twice`);
  const state: Translation = { counts: { pid: 0, listen: 0, http: 0, proxyPass: 0 }, used: new Set(), upstream: null };
  const lines = source.split('\n').flatMap((line) => {
    if (line.trimStart().startsWith('#')) return [line];
    return state.upstream ? upstreamLine(line, state, options) : [translateLine(line, state, options, defined)];
  });
  const { counts } = state;
  if (state.upstream) throw new EdgeConfigError(`upstream ${state.upstream.name} is not closed`);
  if (counts.pid !== 1 || counts.listen !== 1 || counts.http !== 1 || counts.proxyPass === 0) {
    throw new EdgeConfigError(
      `expected one pid, one listen, one http block and proxy_pass lines; found ${JSON.stringify(counts)}`,
    );
  }
  const unused = Object.keys(options.upstreams).filter((service) => !state.used.has(service));
  if (unused.length > 0) throw new EdgeConfigError(`no route reaches ${unused.join(', ')}`);
  return [...mainPreamble(options), ...lines].join('\n');
}

/** A line outside upstream blocks. */
function translateLine(line: string, state: Translation, options: EdgeConfigOptions, defined: string[]): string {
  let match: RegExpExecArray | null;
  if ((match = UPSTREAM_OPEN.exec(line))) {
    const service = match[1]!;
    if (!options.upstreams[service]?.length)
      throw new EdgeConfigError(`upstream ${service}, which the cluster runs no replicas of`);
    state.upstream = { name: service, servers: 0 };
    return line;
  }
  if ((match = PROXY_PASS.exec(line))) {
    const service = match[2]!;
    if (!defined.includes(service))
      throw new EdgeConfigError(`proxy_pass to ${service}, which no upstream block defines`);
    state.used.add(service);
    state.counts.proxyPass += 1;
    return line;
  }
  if ((match = PID.exec(line))) {
    state.counts.pid += 1;
    return `${match[1]}pid ${options.prefixDir}/nginx.pid;`;
  }
  if ((match = LISTEN.exec(line))) {
    state.counts.listen += 1;
    return `${match[1]}listen ${options.listen.host}:${options.listen.port};`;
  }
  if ((match = TEMP_PATH.exec(line))) return `${match[1]}${match[2]}_temp_path ${options.prefixDir}/${match[2]}_temp;`;
  if (HTTP_OPEN.test(line)) {
    state.counts.http += 1;
    return [line, ...httpPreamble(options)].join('\n');
  }
  if (UNSUPPORTED.test(line)) throw new EdgeConfigError(`cannot carry over "${line.trim()}" to the cluster's edge`);
  return line;
}

/** A line inside an upstream block: its first server line becomes the replicas' (the others go), the rest stays. */
function upstreamLine(line: string, state: Translation, options: EdgeConfigOptions): string[] {
  const upstream = state.upstream!;
  if (BLOCK_CLOSE.test(line)) {
    if (upstream.servers === 0) throw new EdgeConfigError(`upstream ${upstream.name} has no server line`);
    state.upstream = null;
    return [line];
  }
  const server = UPSTREAM_SERVER.exec(line);
  if (server) {
    upstream.servers += 1;
    if (upstream.servers > 1) return [];
    // A replica that refuses a connection (killed, restarting) is skipped for 2 s and the request goes
    // to the other one: nginx retries a refused connect even for a POST, since nothing was sent yet.
    const ports = options.upstreams[upstream.name]!;
    return ports.map((port) => `${server[1]}server ${options.upstreamHost}:${port} max_fails=1 fail_timeout=2s;`);
  }
  if (UNSUPPORTED.test(line)) throw new EdgeConfigError(`cannot carry over "${line.trim()}" to the cluster's edge`);
  return [line];
}

function mainPreamble(options: EdgeConfigOptions): string[] {
  return [
    '# Generated by apps/standalone/src/cluster/edge-config.ts from docker/edge.nginx.conf: edit that file.',
    'daemon off;',
    'error_log stderr notice;',
    ...(options.user ? [`user ${options.user};`] : []),
    `worker_shutdown_timeout ${options.shutdownTimeoutS}s;`,
  ];
}

function httpPreamble(options: EdgeConfigOptions): string[] {
  return options.accessLog
    ? [
        '  log_format cluster \'$remote_addr [$time_local] "$request" $status $body_bytes_sent \'',
        "                     'upstream=$upstream_addr upstream_status=$upstream_status time=$request_time';",
        `  access_log ${options.accessLog} cluster;`,
      ]
    : ['  access_log off;'];
}
