/** Nest injection tokens of the admin app. */
export const STORE = Symbol('STORE');
