import type { ClauseV1 } from './flag.model';

/** A rule of a segment: the context belongs to the segment when all clauses hold. */
export interface SegmentRuleV1 {
  id: string;
  clauses: ClauseV1[];
  description?: string;
}

/**
 * A reusable group of contexts. Membership: a targeting key in `excluded` is out; otherwise one in
 * `included` is in; otherwise the context is in when any rule matches.
 */
export interface SegmentDefinitionV1 {
  key: string;
  included: string[];
  excluded: string[];
  rules: SegmentRuleV1[];
  name?: string;
  description?: string;
}
