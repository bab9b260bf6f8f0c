import Ajv2020 from 'ajv/dist/2020';
import {
  EXAMPLE_REPOSITORY,
  HTTP_ROUTES,
  OPENAPI_PATH,
  type HttpRoute,
  type HttpRouteExample,
} from '@sandbox-relay/contracts';
import { FakeGitHubServer } from '@sandbox-relay/github/testing';
import { uniqueId } from '@sandbox-relay/testing';
import { startRelay, type RunningRelay } from './support/relay';

type Json = Record<string, any>;

// The contract test of the OpenAPI document: every documented example of every route is sent, as
// documented, to the running edge (the standalone, with a fake GitHub behind the branch workflow), and
// each answer is checked against the document the edge itself serves: its status is the example's, and
// its body matches that status's response schema. Example ids (`sandbox-example`, `T-example-1`) get a
// per-run suffix, so a rerun against the same database starts from nothing.

describe('OpenAPI contract: the documented examples against the running edge', () => {
  let github: FakeGitHubServer;
  let relay: RunningRelay;
  let document: Json;
  let ajv: Ajv2020;
  const run = uniqueId('r')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(-10);
  const localise = <T>(value: T): T =>
    value === undefined ? value : JSON.parse(JSON.stringify(value).replace(/-example/g, `-example-${run}`));

  beforeAll(async () => {
    github = await FakeGitHubServer.start();
    github.createRepo(EXAMPLE_REPOSITORY, { files: { 'README.md': '# example\n' } });
    relay = await startRelay({
      QUEUE_PREFIX: uniqueId('openapi'),
      GITHUB_TOKEN: github.token,
      GITHUB_REPOSITORY: EXAMPLE_REPOSITORY,
      GITHUB_API_URL: github.baseUrl,
      GITHUB_WRITE_INTERVAL_MS: '0',
      GITHUB_NOTIFICATION_INTERVAL_MS: '0',
    });
    const res = await fetch(`${relay.http}${OPENAPI_PATH}`);
    expect(res.status).toBe(200);
    document = (await res.json()) as Json;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'relay-openapi', components: document.components }, 'relay-openapi');
  });

  afterAll(async () => {
    await relay?.stop();
    await github?.stop();
  });

  it('the standalone serves the whole edge: every route of the registry', () => {
    const operations = Object.values(document.paths).flatMap((item: any) => Object.values(item)) as Json[];
    expect(operations.map((op) => op.operationId).sort()).toEqual(HTTP_ROUTES.map((route) => route.operationId).sort());
  });

  const cases: Array<[string, HttpRoute, HttpRouteExample]> = HTTP_ROUTES.flatMap((route) =>
    route.examples.map((example): [string, HttpRoute, HttpRouteExample] => [
      `${route.method.toUpperCase()} ${route.path} (${example.name}) → ${example.status}`,
      route,
      example,
    ]),
  );

  it('documents at least one example for almost every route', () => {
    const without = HTTP_ROUTES.filter((route) => route.examples.length === 0).map((route) => route.operationId);
    // The dashboard page and the merges need a built dashboard and a pull request with commits.
    expect(without.sort()).toEqual(['getDashboard', 'mergeTicketWork', 'omoiosMergeWork']);
  });

  it.each(cases)('%s', async (_name, route, example) => {
    const params = localise(example.params) ?? {};
    const url = new URL(
      route.path.replace(/\{(\w+)\}/g, (_m, key: string) => encodeURIComponent(params[key] ?? '')),
      relay.http,
    );
    for (const [key, value] of Object.entries(localise(example.query) ?? {})) url.searchParams.set(key, value);
    const headers: Record<string, string> = { ...(localise(example.headers) ?? {}) };
    if (example.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, {
      method: route.method.toUpperCase(),
      headers,
      body: example.body === undefined ? undefined : JSON.stringify(localise(example.body)),
    });
    const text = await res.text();
    expect({ status: res.status, text: res.status === example.status ? '' : text }).toEqual({
      status: example.status,
      text: '',
    });

    const documented = document.paths[route.path][route.method].responses[String(example.status)];
    const json = documented.content['application/json'];
    if (!json) {
      // A text answer (the metrics): its content type is the documented one.
      expect(res.headers.get('content-type')).toContain(Object.keys(documented.content)[0]);
      expect(text.length).toBeGreaterThan(0);
      return;
    }
    expect(res.headers.get('content-type')).toContain('application/json');
    const check = ajv.compile({ $ref: `relay-openapi${json.schema.$ref}` });
    const body = JSON.parse(text);
    expect({ valid: check(body), errors: check.errors ?? null }).toEqual({ valid: true, errors: null });
    if (example.status >= 400) {
      // The documented code for this status, and the error answer's own request id.
      expect(documented['x-error-codes']).toContain(body.error.code);
      expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
    }
  });
});
