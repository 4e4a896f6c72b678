export * from './config.model';
