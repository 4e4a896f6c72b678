export * from './outbox-source';
export * from './change-publisher';
export * from './change-relay';
