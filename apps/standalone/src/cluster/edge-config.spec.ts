import { readFileSync } from 'node:fs';
import path from 'node:path';
import { clusterEdgeConfig, edgeUpstreams, type EdgeConfigOptions } from './edge-config';
import { CLUSTER_SERVICES } from './cluster-services';

const ROUTED = CLUSTER_SERVICES.filter((service) => service.routed);

const COMPOSE_EDGE = readFileSync(path.resolve(__dirname, '../../../../docker/edge.nginx.conf'), 'utf8');

function options(overrides: Partial<EdgeConfigOptions> = {}): EdgeConfigOptions {
  return {
    listen: { host: '127.0.0.1', port: 18000 },
    upstreams: Object.fromEntries(ROUTED.map((service, i) => [service.name, [20000 + i * 10, 20001 + i * 10]])),
    upstreamHost: '127.0.0.1',
    prefixDir: '/srv/cluster/nginx',
    accessLog: '/srv/cluster/nginx/access.log',
    user: null,
    shutdownTimeoutS: 5,
    ...overrides,
  };
}

/** Each `location` line with the directives of its block, proxy_pass reduced to the service it reaches. */
function routes(config: string): string[] {
  const out: string[] = [];
  let current: string[] | null = null;
  for (const raw of config.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('location ')) current = [line];
    else if (current && line === '}') {
      out.push(current.join(' | '));
      current = null;
    } else if (current && line && !line.startsWith('#')) {
      current.push(line.replace(/^proxy_pass http:\/\/([a-z-]+)(:\d+)?;$/, 'proxy_pass $1'));
    }
  }
  return out;
}

/** Each `upstream` block's directives by name. */
function upstreamBlocks(config: string): Record<string, string[]> {
  const blocks: Record<string, string[]> = {};
  for (const match of config.matchAll(/^\s*upstream ([a-z-]+) \{\n([^}]*)\}/gm)) {
    blocks[match[1]!] = match[2]!
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
  }
  return blocks;
}

/** The compose edge with `text` inserted before its `/` location. */
const withRoute = (text: string) => COMPOSE_EDGE.replace('location / {', `${text}\n    location / {`);

describe('the cluster edge config, generated from the compose edge', () => {
  it("keeps every route of docker/edge.nginx.conf, in order, and moves its listen, pid and temp paths to the cluster's", () => {
    const generated = clusterEdgeConfig(COMPOSE_EDGE, options());
    expect(routes(COMPOSE_EDGE).length).toBeGreaterThan(10);
    expect(routes(generated)).toEqual(routes(COMPOSE_EDGE));
    expect(generated).not.toMatch(/proxy_pass http:\/\/[a-z-]+:\d+/);
    expect(generated).not.toMatch(/\/tmp\//);
    expect(generated).toContain('listen 127.0.0.1:18000;');
    expect(generated).toContain('pid /srv/cluster/nginx/nginx.pid;');
    expect(generated).toContain('proxy_temp_path /srv/cluster/nginx/proxy_temp;');
    expect(generated).toMatch(/^daemon off;$/m);
  });

  it("carries each upstream block over with one server per replica and the block's other directives (keepalive)", () => {
    const source = upstreamBlocks(COMPOSE_EDGE);
    const generated = upstreamBlocks(clusterEdgeConfig(COMPOSE_EDGE, options()));
    expect(Object.keys(generated)).toEqual(Object.keys(source));
    for (const [service, ports] of Object.entries(options().upstreams)) {
      expect(source[service]).toContainEqual(expect.stringMatching(/^keepalive \d+;$/));
      expect(generated[service]).toEqual([
        ...ports.map((port) => `server 127.0.0.1:${port} max_fails=1 fail_timeout=2s;`),
        ...source[service]!.filter((line) => !line.startsWith('server ')),
      ]);
    }
  });

  it('puts every replica in place of a block of several servers', () => {
    const source = COMPOSE_EDGE.replace('server ingest:8081;', 'server ingest-a:8081;\n    server ingest-b:8081;');
    const ingest = upstreamBlocks(clusterEdgeConfig(source, options()))['ingest']!;
    expect(ingest.filter((line) => line.startsWith('server '))).toEqual([
      'server 127.0.0.1:20000 max_fails=1 fail_timeout=2s;',
      'server 127.0.0.1:20001 max_fails=1 fail_timeout=2s;',
    ]);
  });

  it('routes to every service the cluster runs that has an API, and to no other', () => {
    const targets = new Set([...COMPOSE_EDGE.matchAll(/proxy_pass http:\/\/([a-z-]+);/g)].map((m) => m[1]));
    expect([...targets].sort()).toEqual(ROUTED.map((service) => service.name).sort());
    expect(edgeUpstreams(COMPOSE_EDGE).sort()).toEqual(ROUTED.map((service) => service.name).sort());
  });

  it('refuses a proxy_pass to no upstream block, or past the upstreams to a host and port', () => {
    expect(() =>
      clusterEdgeConfig(
        withRoute('    location /api/v1/reports {\n      proxy_pass http://reports;\n    }'),
        options(),
      ),
    ).toThrow(/proxy_pass to reports, which no upstream block defines/);
    expect(() =>
      clusterEdgeConfig(
        withRoute('    location /api/v1/reports {\n      proxy_pass http://ingest:8081;\n    }'),
        options(),
      ),
    ).toThrow(/cannot carry over "proxy_pass http:\/\/ingest:8081;"/);
  });

  it('refuses an upstream of a service it runs no replicas of, an upstream without a server, and a service no route reaches', () => {
    const reports = withRoute('    location /api/v1/reports {\n      proxy_pass http://reports;\n    }').replace(
      'upstream ingest {',
      'upstream reports {\n    server reports:8087;\n  }\n  upstream ingest {',
    );
    expect(() => clusterEdgeConfig(reports, options())).toThrow(
      /upstream reports, which the cluster runs no replicas of/,
    );
    expect(() => clusterEdgeConfig(COMPOSE_EDGE.replace('server gateway:8082;', ''), options())).toThrow(
      /upstream gateway has no server line/,
    );
    const upstreams = { ...options().upstreams, spare: [1, 2] };
    expect(() => clusterEdgeConfig(COMPOSE_EDGE, options({ upstreams }))).toThrow(/no route reaches spare/);
    // An upstream the cluster runs, defined but named by no proxy_pass.
    const unrouted = COMPOSE_EDGE.replace(
      'upstream ingest {',
      'upstream spare {\n    server spare:8089;\n  }\n  upstream ingest {',
    );
    expect(() => clusterEdgeConfig(unrouted, options({ upstreams }))).toThrow(/no route reaches spare/);
    expect(() => clusterEdgeConfig(COMPOSE_EDGE.replace('upstream ingest {', 'upstream gateway {'), options())).toThrow(
      /upstream gateway defined twice/,
    );
  });

  it('refuses directives it cannot carry over, and a config without its listen line', () => {
    expect(() => clusterEdgeConfig(COMPOSE_EDGE.replace('http {', 'include extra.conf;\nhttp {'), options())).toThrow(
      /cannot carry over "include extra.conf;"/,
    );
    expect(() => clusterEdgeConfig(COMPOSE_EDGE.replace(/listen 8080;/, ''), options())).toThrow(/"listen":0/);
  });

  it('runs nginx workers as the given user when asked, and can turn the access log off', () => {
    const generated = clusterEdgeConfig(COMPOSE_EDGE, options({ user: 'nobody nogroup', accessLog: null }));
    expect(generated).toMatch(/^user nobody nogroup;$/m);
    expect(generated).toMatch(/^ {2}access_log off;$/m);
  });
});
