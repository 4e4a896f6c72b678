import { Inject, Injectable } from '@nestjs/common';
import type { ChangeRelay } from '@flagstream/change-feed';
import { ChangeWriter } from '@flagstream/changes';
import type { Store } from '@flagstream/persistence';
import { STORE } from '../common/tokens';

export const RELAY = Symbol('RELAY');

/** The change pipeline's write path (libs/changes), as the admin app's injectable. */
@Injectable()
export class ChangeService extends ChangeWriter {
  constructor(@Inject(STORE) store: Store, @Inject(RELAY) relay: Pick<ChangeRelay, 'kick'>) {
    super(store, relay);
  }
}
