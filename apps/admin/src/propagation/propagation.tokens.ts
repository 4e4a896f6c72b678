export const PROPAGATION = Symbol('PROPAGATION');
export type { PropagationReport } from './propagation.reader';
