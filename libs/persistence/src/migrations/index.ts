import { InitialSchema1764140000000 } from './1764140000000-initial-schema';
import { ConfigItems1764200000000 } from './1764200000000-config-items';

/** Every migration, in order. Listed explicitly so bundled builds need no file globbing. */
export const MIGRATIONS = [InitialSchema1764140000000, ConfigItems1764200000000];
