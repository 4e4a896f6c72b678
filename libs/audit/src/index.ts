export * from './audit-chain';
export * from './canonical-json';
export * from './redact';
