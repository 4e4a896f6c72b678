import { Inject, Injectable } from '@nestjs/common';
import { FlagWrites } from '@flagstream/changes';
import type { Store } from '@flagstream/persistence';
import { ChangeService } from '../changes/change.service';
import { STORE } from '../common/tokens';

/** Flag reads and writes (libs/changes), as the admin app's injectable. */
@Injectable()
export class FlagService extends FlagWrites {
  constructor(@Inject(STORE) store: Store, changes: ChangeService) {
    super(store, changes);
  }
}
