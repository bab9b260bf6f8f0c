export { createIngestService, type IngestService, type IngestServiceDeps } from './ingest.service';
export { ingestRouter } from './ingest.routes';
export { IngestEnv, ingestConfig, parseIngestEnv } from './env';
