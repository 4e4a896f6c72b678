/** Nest injection tokens of the admin app. */
export const STORE = Symbol('STORE');
export const REDIS = Symbol('REDIS');
export const ADMIN_CONFIG = Symbol('ADMIN_CONFIG');
