export * from './flags';
export * from './change-event';
