import { Inject, Injectable } from '@nestjs/common';
import { ConfigWrites } from '@flagstream/changes';
import type { Store } from '@flagstream/persistence';
import { STORE } from '../common/tokens';

/** Config item writes (libs/changes), as the admin app's injectable. */
@Injectable()
export class ConfigService extends ConfigWrites {
  constructor(@Inject(STORE) store: Store) {
    super(store);
  }
}
