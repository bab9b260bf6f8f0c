// The OpenAPI 3.1 document of the HTTP edge, built from the route registry (routes.ts) with zod's own
// JSON Schema output: every schema in it is a contracts schema converted, none is written by hand.
// Request schemas are converted as input (what a client may send: defaults optional, coercions as
// strings), answers as output (what the relay sends).
import { z } from 'zod';
import { ErrorAnswer } from './edge.schema';
import { HTTP_COMPONENT_NAMES, HTTP_ROUTES, HTTP_SERVICES, type HttpRoute, type HttpService } from './routes';

type Json = Record<string, unknown>;

const SCHEMA_REF = '#/components/schemas/';

/** Builds one registry per direction: each body and answer under a name, so generated clients get named models. */
function namedSchemas(routes: readonly HttpRoute[]) {
  const input = z.registry<{ id: string }>();
  const output = z.registry<{ id: string }>();
  const name = (registry: typeof input, schema: z.ZodType, fallback: string): string => {
    const known = registry.get(schema)?.id ?? COMPONENT_NAMES.get(schema);
    const id = known ?? fallback;
    if (!registry.has(schema)) registry.add(schema, { id });
    return id;
  };
  const bodies = new Map<HttpRoute, string>();
  const answers = new Map<string, string>();
  for (const route of routes) {
    if (route.body) bodies.set(route, name(input, route.body.schema, `${pascal(route.operationId)}Body`));
    for (const [status, answer] of Object.entries(route.answers)) {
      if (answer.schema)
        answers.set(
          `${route.operationId} ${status}`,
          name(output, answer.schema, `${pascal(route.operationId)}Answer`),
        );
    }
  }
  name(output, ErrorAnswer, 'ErrorAnswer');
  return { input, output, bodies, answers };
}

const pascal = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

const COMPONENT_NAMES = new Map<z.ZodType, string>(
  Object.entries(HTTP_COMPONENT_NAMES).map(([name, schema]) => [schema, name]),
);

function convert(registry: z.core.$ZodRegistry<{ id: string }>, io: 'input' | 'output'): Record<string, Json> {
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `${SCHEMA_REF}${id}`,
  }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) {
    delete schema.$id;
    delete schema.$schema;
  }
  return schemas;
}

/** One OpenAPI parameter per property of the route's query (or path, header) schemas, converted as input. */
function parameters(location: 'path' | 'query' | 'header', shapes: z.ZodObject[] | undefined): Json[] {
  const seen = new Map<string, Json>();
  for (const shape of shapes ?? []) {
    for (const [key, property] of Object.entries(shape.shape as Record<string, z.ZodType>)) {
      if (seen.has(key)) continue;
      const schema = z.toJSONSchema(property, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Json;
      delete schema.$schema;
      const optional = location !== 'path' && (property.safeParse(undefined).success || shapes!.length > 1);
      const description = typeof schema.description === 'string' ? schema.description : undefined;
      seen.set(key, { name: key, in: location, required: !optional, schema, ...(description ? { description } : {}) });
    }
  }
  return [...seen.values()];
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Validation failed',
  429: 'Rate limited',
  500: 'Internal error',
  502: 'Upstream failed',
  503: 'Unavailable',
};

function operation(route: HttpRoute, names: ReturnType<typeof namedSchemas>): Json {
  const responses: Record<string, Json> = {};
  for (const [status, answer] of Object.entries(route.answers)) {
    const examples = exampleMap(route, Number(status));
    const content = answer.schema
      ? {
          'application/json': {
            schema: { $ref: `${SCHEMA_REF}${names.answers.get(`${route.operationId} ${status}`)}` },
            ...(examples ? { examples } : {}),
          },
        }
      : { [answer.contentType ?? 'text/plain']: { schema: { type: 'string' } } };
    responses[status] = { description: answer.description, content };
  }
  const errors: Record<number, string[]> = { ...route.errors, 500: [...(route.errors[500] ?? []), 'internal'] };
  for (const [status, codes] of Object.entries(errors)) {
    if (responses[status]) continue;
    const examples = exampleMap(route, Number(status));
    responses[status] = {
      description: `${STATUS_TEXT[Number(status)] ?? 'Error'}: ${codes.map((code) => `\`${code}\``).join(', ')}`,
      ...(Number(status) === 401
        ? { headers: { 'WWW-Authenticate': { schema: { type: 'string' }, description: '`Bearer`' } } }
        : {}),
      content: {
        'application/json': { schema: { $ref: `${SCHEMA_REF}ErrorAnswer` }, ...(examples ? { examples } : {}) },
      },
      'x-error-codes': codes,
    };
  }
  const requestExamples = Object.fromEntries(
    route.examples
      .filter((example) => example.body !== undefined)
      .map((example) => [example.name, { summary: example.summary, value: example.body }]),
  );
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    'x-relay-service': route.service,
    ...(route.auth
      ? { 'x-relay-auth-action': route.auth, security: [{ bearerAuth: [] }, { basicAuth: [] }] }
      : { security: [] }),
    parameters: [
      ...parameters('path', route.params ? [route.params] : undefined),
      ...parameters('query', route.query),
      ...parameters('header', route.headers ? [route.headers] : undefined),
    ],
    ...(route.body
      ? {
          requestBody: {
            required: route.body.required,
            content: {
              'application/json': {
                schema: { $ref: `${SCHEMA_REF}${names.bodies.get(route)}` },
                ...(Object.keys(requestExamples).length > 0 ? { examples: requestExamples } : {}),
              },
            },
          },
        }
      : {}),
    responses,
    'x-examples': route.examples.map(({ response: _response, ...request }) => request),
  };
}

function exampleMap(route: HttpRoute, status: number): Json | undefined {
  const matching = route.examples.filter((example) => example.status === status && example.response !== undefined);
  if (matching.length === 0) return undefined;
  return Object.fromEntries(
    matching.map((example) => [example.name, { summary: example.summary, value: example.response }]),
  );
}

export interface OpenApiOptions {
  /** Only these apps' routes (and every app's own: health, readiness, metrics, this document); all when absent. */
  services?: readonly HttpService[];
  /** `info.version`. */
  version?: string;
}

const built = new Map<string, Json>();

/** The OpenAPI 3.1 document of the edge (or of some apps' part of it). Built once per set of apps. */
export function buildOpenApiDocument({ services, version = '1.0.0' }: OpenApiOptions = {}): Json {
  const key = `${services ? [...services].sort().join(',') : '*'}@${version}`;
  const cached = built.get(key);
  if (cached) return cached;
  const routes = HTTP_ROUTES.filter(
    (route) => !services || route.service === 'every' || services.includes(route.service),
  );
  const names = namedSchemas(routes);
  const paths: Record<string, Json> = {};
  for (const route of routes)
    paths[route.path] = { ...(paths[route.path] ?? {}), [route.method]: operation(route, names) };
  const document: Json = {
    openapi: '3.1.0',
    info: {
      title: services ? `Sandbox Relay: ${services.join(', ')}` : 'Sandbox Relay',
      version,
      description:
        'The HTTP edge of Sandbox Relay, generated from its zod contracts. Errors are `{"error": {code, message, details?, requestId}}`; ' +
        'each error response lists its codes in `x-error-codes`. With auth on, every route but the public ones takes a relay token ' +
        '(`Authorization: Bearer <jwt>`, or Basic whose password is the token, as a sandbox callback URL with userinfo sends it); ' +
        '`x-relay-auth-action` names the action the token must hold. The WebSockets are described by the AsyncAPI document.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: { ...convert(names.input, 'input'), ...convert(names.output, 'output') },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A relay token (sandbox, viewer or operator).',
        },
        basicAuth: {
          type: 'http',
          scheme: 'basic',
          description:
            "A relay token as the Basic password (any user name): what a sandbox's CALLBACK_URL userinfo (`https://sandbox:<token>@host`) sends.",
        },
      },
    },
  };
  built.set(key, document);
  return document;
}

/**
 * The document a process serves at `GET /api/v1/openapi.json`, from the names of the services it hosts:
 * a process with the gateway (the gateway's own, the standalone) serves the whole edge, since the
 * Ingress and the compose edge send the path there; any other its own services' routes.
 */
export function openApiDocumentForProcess(serviceNames: readonly string[]): Json {
  if (serviceNames.includes('gateway')) return buildOpenApiDocument();
  const services = HTTP_SERVICES.filter((service) => serviceNames.includes(service));
  return buildOpenApiDocument({ services });
}
