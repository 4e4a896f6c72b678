export * from './flags';
export * from './change-event';
export * from './sdk-stream';
export * from './state-hash';
export * from './state-replica';
export * from './config';
export * from './events';
export * from './sdk-secrets';
