// Writes the AsyncAPI document generated from the contracts (deploy/src/asyncapi.ts) to the committed file:
// npx tsx --tsconfig tsconfig.base.json deploy/src/asyncapi.write.ts
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ASYNCAPI_FILE, renderAsyncApi } from './asyncapi';

const root = path.resolve(__dirname, '../..');
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const target = path.join(root, ASYNCAPI_FILE);
mkdirSync(path.dirname(target), { recursive: true });
writeFileSync(target, renderAsyncApi(version));
process.stdout.write(`wrote ${ASYNCAPI_FILE}\n`);
