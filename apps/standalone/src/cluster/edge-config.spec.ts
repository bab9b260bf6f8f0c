import { readFileSync } from 'node:fs';
import path from 'node:path';
import { clusterEdgeConfig, type EdgeConfigOptions } from './edge-config';
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

describe('the cluster edge config, generated from the compose edge', () => {
  it('keeps every route of docker/edge.nginx.conf, in order, each proxied to an upstream of two replicas', () => {
    const generated = clusterEdgeConfig(COMPOSE_EDGE, options());
    expect(routes(COMPOSE_EDGE).length).toBeGreaterThan(10);
    expect(routes(generated)).toEqual(routes(COMPOSE_EDGE));
    for (const service of ROUTED) {
      const block = new RegExp(`upstream ${service.name} \\{\\n((?:\\s+server [^\\n]+\\n)+)\\s+\\}`).exec(generated);
      expect(block?.[1]?.trim().split('\n')).toHaveLength(2);
    }
    expect(generated).not.toMatch(/proxy_pass http:\/\/[a-z-]+:\d+/);
    expect(generated).not.toMatch(/\/tmp\//);
    expect(generated).toContain('listen 127.0.0.1:18000;');
    expect(generated).toContain('pid /srv/cluster/nginx/nginx.pid;');
    expect(generated).toContain('proxy_temp_path /srv/cluster/nginx/proxy_temp;');
    expect(generated).toMatch(/^daemon off;$/m);
  });

  it('routes to every service the cluster runs that has an API, and to no other', () => {
    const targets = new Set([...COMPOSE_EDGE.matchAll(/proxy_pass http:\/\/([a-z-]+):\d+;/g)].map((m) => m[1]));
    expect([...targets].sort()).toEqual(ROUTED.map((service) => service.name).sort());
  });

  it('refuses a route to a service it runs no replicas of, and a service no route reaches', () => {
    const added = COMPOSE_EDGE.replace(
      'location / {',
      'location /api/v1/reports {\n      proxy_pass http://reports:8087;\n    }\n    location / {',
    );
    expect(() => clusterEdgeConfig(added, options())).toThrow(/proxy_pass to reports/);
    const upstreams = { ...options().upstreams, spare: [1, 2] };
    expect(() => clusterEdgeConfig(COMPOSE_EDGE, options({ upstreams }))).toThrow(/no route reaches spare/);
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
