// The boundary check against a fixture tree with one violation of each rule (`node --test`).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { checkBoundaries } from './check-boundaries.mjs';

function fixture(projects) {
  const root = mkdtempSync(path.join(tmpdir(), 'boundaries-'));
  for (const [dir, { tags, files }] of Object.entries(projects)) {
    mkdirSync(path.join(root, dir, 'src'), { recursive: true });
    if (tags) writeFileSync(path.join(root, dir, 'package.json'), JSON.stringify({ name: dir, nx: { tags } }));
    for (const [file, text] of Object.entries(files)) writeFileSync(path.join(root, dir, 'src', file), text);
  }
  return root;
}

test('a clean tree passes', () => {
  const root = fixture({
    'libs/contracts': { tags: ['scope:shared', 'type:contracts'], files: { 'index.ts': 'export const A = 1;\n' } },
    'libs/kit': {
      tags: ['scope:shared', 'type:util'],
      files: { 'index.ts': "import { A } from '@sandbox-relay/contracts';\n" },
    },
    'libs/bus': {
      tags: ['scope:shared', 'type:infra'],
      files: { 'index.ts': "import Redis from 'ioredis';\nimport { kit } from '@sandbox-relay/kit';\n" },
    },
    'libs/testing': { tags: ['scope:shared', 'type:testing'], files: { 'index.ts': '' } },
    'apps/api': {
      tags: ['scope:api', 'type:app'],
      files: {
        'main.ts': "import { bus } from '@sandbox-relay/bus';\n",
        'a.spec.ts': "import { t } from '@sandbox-relay/testing';\n",
      },
    },
    'apps/standalone': {
      tags: ['scope:standalone', 'type:app'],
      files: { 'main.ts': "import { api } from '@sandbox-relay/api';\n" },
    },
  });
  try {
    assert.deepEqual(checkBoundaries(root), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('each rule reports its violation', () => {
  const root = fixture({
    'libs/contracts': {
      tags: ['scope:shared', 'type:contracts'],
      files: { 'index.ts': "import { kit } from '@sandbox-relay/kit';\n" },
    },
    'libs/kit': {
      tags: ['scope:shared', 'type:util'],
      files: { 'index.ts': "import { bus } from '@sandbox-relay/bus';\n" },
    },
    'libs/bus': { tags: ['scope:shared', 'type:infra'], files: { 'index.ts': '' } },
    'libs/auth': {
      tags: ['scope:shared', 'type:infra'],
      files: { 'index.ts': "import type { Redis } from '@sandbox-relay/bus';\nimport Redis2 from 'ioredis';\n" },
    },
    'libs/runtime': { tags: ['scope:worker', 'type:app'], files: { 'index.ts': '' } },
    'libs/testing': { tags: ['scope:shared', 'type:testing'], files: { 'index.ts': '' } },
    'libs/untagged': { files: { 'index.ts': '' } },
    'apps/api': {
      tags: ['scope:api', 'type:app'],
      files: {
        'main.ts':
          "import { t } from '@sandbox-relay/testing';\nimport { other } from '@sandbox-relay/other';\nimport { run } from '@sandbox-relay/runtime';\nimport x from '../../../libs/bus/src/index';\n",
      },
    },
    'apps/other': { tags: ['scope:other', 'type:app'], files: { 'main.ts': '' } },
  });
  try {
    const problems = checkBoundaries(root);
    const expected = [
      /libs\/contracts\/src\/index\.ts: imports '@sandbox-relay\/kit': type:contracts may not depend on type:util/,
      /libs\/kit\/src\/index\.ts: imports '@sandbox-relay\/bus': type:util may not depend on type:infra/,
      /libs\/auth\/src\/index\.ts: imports '@sandbox-relay\/bus': type:infra may not depend on type:infra/,
      /libs\/auth\/src\/index\.ts: imports 'ioredis': only libs\/bus may import it/,
      /libs\/untagged\/package\.json: nx\.tags needs a scope: and a type: tag/,
      /apps\/api\/src\/main\.ts: imports '@sandbox-relay\/testing': testing helpers are for specs only/,
      /apps\/api\/src\/main\.ts: imports '@sandbox-relay\/other': an app may not import an app/,
      /apps\/api\/src\/main\.ts: imports '@sandbox-relay\/runtime': an app may not import an app/,
      /apps\/api\/src\/main\.ts: imports '..\/..\/..\/libs\/bus\/src\/index': cross-project relative import/,
    ];
    for (const pattern of expected)
      assert.ok(
        problems.some((problem) => pattern.test(problem)),
        `expected ${pattern} in:\n${problems.join('\n')}`,
      );
    assert.equal(problems.length, expected.length, problems.join('\n'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the client takes only types from contracts, and apps may use it', () => {
  const root = fixture({
    'libs/contracts': { tags: ['scope:shared', 'type:contracts'], files: { 'index.ts': 'export const A = 1;\n' } },
    'libs/kit': { tags: ['scope:shared', 'type:util'], files: { 'index.ts': '' } },
    'libs/client': {
      tags: ['scope:shared', 'type:client'],
      files: {
        'index.ts':
          "import type { A } from '@sandbox-relay/contracts';\nexport type { B } from '@sandbox-relay/contracts';\nimport { A as V } from '@sandbox-relay/contracts';\nimport { kit } from '@sandbox-relay/kit';\n",
        'a.spec.ts': "import { A } from '@sandbox-relay/contracts';\n",
      },
    },
    'apps/web': {
      tags: ['scope:web', 'type:app'],
      files: { 'main.ts': "import { RelayClient } from '@sandbox-relay/client';\n" },
    },
  });
  try {
    assert.deepEqual(checkBoundaries(root).sort(), [
      "libs/client/src/index.ts: imports '@sandbox-relay/contracts': type:client takes types only from it (import type)",
      "libs/client/src/index.ts: imports '@sandbox-relay/kit': type:client may not depend on type:util",
      "libs/client/src/index.ts: imports '@sandbox-relay/kit': type:client takes types only from it (import type)",
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
