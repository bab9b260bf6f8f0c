export * from './edge.schema';
export * from './routes';
export * from './openapi';
