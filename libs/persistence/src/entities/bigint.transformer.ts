import type { ValueTransformer } from 'typeorm';

/** pg returns bigint as a string; revisions and sequence numbers stay far below 2^53. */
export const bigintTransformer: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
