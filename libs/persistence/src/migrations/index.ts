import { InitialSchema1764140000000 } from './1764140000000-initial-schema';

/** Every migration, in order. Listed explicitly so bundled builds need no file globbing. */
export const MIGRATIONS = [InitialSchema1764140000000];
