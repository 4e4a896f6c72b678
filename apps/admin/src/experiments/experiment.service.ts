import { Inject, Injectable } from '@nestjs/common';
import { ExperimentResults, Experiments } from '@flagstream/changes';
import type { Store } from '@flagstream/persistence';
import { ChangeService } from '../changes/change.service';
import { STORE } from '../common/tokens';
import { FlagService } from '../flags/flag.service';

/** Experiments (libs/changes), as the admin app's injectable; on-demand aggregations run on the module's ExperimentResults. */
@Injectable()
export class ExperimentService extends Experiments {
  constructor(@Inject(STORE) store: Store, changes: ChangeService, flags: FlagService, results: ExperimentResults) {
    super(store, changes, flags, { results });
  }
}
