import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ReleasePlans, type ReleasePlanQueuePort } from '@flagstream/changes';
import type { Store } from '@flagstream/persistence';
import { APP_LOGGER } from '@flagstream/server';
import { ChangeService } from '../changes/change.service';
import { STORE } from '../common/tokens';
import { FlagService } from '../flags/flag.service';
import { RELEASE_PLAN_QUEUE } from './release-plan.tokens';

/** Release plans (libs/changes), as the admin app's injectable. */
@Injectable()
export class ReleasePlanService extends ReleasePlans {
  constructor(
    @Inject(STORE) store: Store,
    changes: ChangeService,
    flags: FlagService,
    @Inject(RELEASE_PLAN_QUEUE) queue: ReleasePlanQueuePort | null,
    @Inject(APP_LOGGER) logger: Logger,
  ) {
    super(store, changes, flags, queue, {
      // The plan is stored; the worker's sweep will enqueue its transition (WORKER_SWEEP_MS).
      onQueueError: (err) => logger.warn({ err }, 'release plan stored but its job could not be queued; the worker sweep will queue it'),
    });
  }
}
