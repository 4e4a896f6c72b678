export * from './sdk-events.model';
export * from './sdk-events.schema';
export * from './sdk-events.validator';
