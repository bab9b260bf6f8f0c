export { createIngestService, type IngestService, type IngestServiceDeps } from './ingest.service';
export { createIngestModule, type IngestModule } from './ingest.module';
export { composeIngest } from './ingest.process';
export { ingestRouter } from './ingest.routes';
export { IngestEnv, ingestConfig, parseIngestEnv } from './env';
