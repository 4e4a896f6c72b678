/**
 * One thing wrong with an input. `path` is relative to the validated object, in JavaScript
 * accessor form (`rules[0].clauses[1].values[2]`); the empty string means the object itself.
 */
export interface ValidationProblem {
  path: string;
  message: string;
}
