import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { buildOpenApiDocument } from './openapi';
import { HTTP_ROUTES } from './routes';

type Json = Record<string, any>;

// The validator is ESM-only; its own CLI runs it on the document as a file, as CI or a person would.
const VALIDATOR = path.resolve(
  __dirname,
  '../../../../../node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js',
);

function validate(document: unknown): { valid: boolean; errors?: unknown } {
  const dir = mkdtempSync(path.join(tmpdir(), 'openapi-'));
  try {
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    try {
      return JSON.parse(execFileSync('node', [VALIDATOR, file], { encoding: 'utf8' }));
    } catch (error) {
      // The CLI exits non-zero on an invalid document and prints the same JSON report.
      return JSON.parse((error as { stdout: string }).stdout);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An ajv that resolves the document's `#/components/schemas/…` refs. */
function schemaChecker(document: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'relay-openapi', components: document.components }, 'relay-openapi');
  return (schema: Json, value: unknown) => {
    const check = ajv.compile({ $ref: `relay-openapi${schema.$ref}` });
    return check(value) ? null : check.errors;
  };
}

describe('the OpenAPI document', () => {
  const document = buildOpenApiDocument() as Json;

  it('is valid OpenAPI 3.1 by @seriousme/openapi-schema-validator', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(validate(document)).toEqual({ valid: true });
  });

  it('the validator bites: an answer without its required description is refused', () => {
    const broken = structuredClone(document);
    delete broken.paths['/healthz'].get.responses['200'].description;
    expect(validate(broken).valid).toBe(false);
  });

  it.each(['ingest', 'message-queue', 'gateway', 'supervisor', 'branch-workflow', 'guardian'] as const)(
    "%s: its own part is valid and holds only its routes and every app's",
    (service) => {
      const part = buildOpenApiDocument({ services: [service] }) as Json;
      expect(validate(part)).toEqual({ valid: true });
      const operations = Object.values(part.paths).flatMap((item: any) => Object.values(item)) as Json[];
      expect(operations.every((op) => op['x-relay-service'] === service || op['x-relay-service'] === 'every')).toBe(
        true,
      );
      expect(operations.map((op) => op.operationId)).toEqual(
        expect.arrayContaining(['getHealth', 'getReadiness', 'getMetrics', 'getOpenApi']),
      );
    },
  );

  it('documents every route of the registry once, with its auth and the error answer on every error status', () => {
    const operations = Object.values(document.paths).flatMap((item: any) => Object.values(item)) as Json[];
    expect(operations).toHaveLength(HTTP_ROUTES.length);
    expect(new Set(operations.map((op) => op.operationId)).size).toBe(HTTP_ROUTES.length);
    for (const route of HTTP_ROUTES) {
      const op = document.paths[route.path][route.method];
      if (route.auth) {
        expect(op['x-relay-auth-action']).toBe(route.auth);
        expect(op.security).toEqual([{ bearerAuth: [] }, { basicAuth: [] }]);
        expect(op.responses['401']['x-error-codes']).toEqual(['unauthenticated']);
        expect(op.responses['403']['x-error-codes']).toEqual(['forbidden']);
      } else {
        expect(op.security).toEqual([]);
      }
      expect(op.responses['500']['x-error-codes']).toContain('internal');
      for (const [status, codes] of Object.entries(route.errors)) {
        if (route.answers[Number(status)]) continue;
        expect(op.responses[status].content['application/json'].schema).toEqual({
          $ref: '#/components/schemas/ErrorAnswer',
        });
        expect(op.responses[status]['x-error-codes']).toEqual(codes);
      }
    }
    expect(document.components.securitySchemes).toMatchObject({
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      basicAuth: { type: 'http', scheme: 'basic' },
    });
  });

  it('every documented example matches the document: request bodies their schema, answers the schema of their status', () => {
    const check = schemaChecker(document);
    let checked = 0;
    for (const route of HTTP_ROUTES) {
      const op = document.paths[route.path][route.method];
      for (const example of route.examples) {
        expect(op.responses[String(example.status)]).toBeDefined();
        const answerSchema = op.responses[String(example.status)].content['application/json']?.schema;
        if (example.response !== undefined) {
          expect({
            example: `${route.operationId} ${example.name}`,
            errors: check(answerSchema, example.response),
          }).toEqual({ example: `${route.operationId} ${example.name}`, errors: null });
          checked++;
        }
        // Examples of refusals carry bodies the schema refuses on purpose; the accepted ones must pass it.
        if (example.body !== undefined && example.status < 400) {
          expect({
            example: `${route.operationId} ${example.name}`,
            errors: check(op.requestBody.content['application/json'].schema, example.body),
          }).toEqual({
            example: `${route.operationId} ${example.name}`,
            errors: null,
          });
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('converts the contracts, not copies of them: a body field and its limits come from the zod schema', () => {
    const body = document.components.schemas.EventBody;
    expect(body.required).toEqual(['event_type']);
    expect(body.properties.event_type).toMatchObject({ type: 'string', minLength: 1, maxLength: 200 });
    expect(document.components.schemas.EventBatchBody).toMatchObject({
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: { $ref: '#/components/schemas/EventBody' },
    });
    const limit = document.paths['/api/v1/sandboxes/{sandboxId}/events'].get.parameters.find(
      (p: Json) => p.name === 'limit',
    );
    expect(limit).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    });
  });
});
