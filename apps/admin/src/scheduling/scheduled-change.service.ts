import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ScheduledChanges, type ScheduledChangeQueuePort } from '@flagstream/changes';
import type { Store } from '@flagstream/persistence';
import { APP_LOGGER } from '@flagstream/server';
import { ChangeService } from '../changes/change.service';
import { STORE } from '../common/tokens';
import { ConfigService } from '../configs/config.service';
import { FlagService } from '../flags/flag.service';
import { SCHEDULE_QUEUE } from './scheduling.tokens';

/** Scheduled changes (libs/changes), as the admin app's injectable. */
@Injectable()
export class ScheduledChangeService extends ScheduledChanges {
  constructor(
    @Inject(STORE) store: Store,
    changes: ChangeService,
    flags: FlagService,
    configs: ConfigService,
    @Inject(SCHEDULE_QUEUE) queue: ScheduledChangeQueuePort | null,
    @Inject(APP_LOGGER) logger: Logger,
  ) {
    super(store, changes, flags, configs, queue, {
      // The change is stored; the worker's sweep will enqueue it (WORKER_SWEEP_MS).
      onQueueError: (err) => logger.warn({ err }, 'scheduled change stored but its job could not be queued; the worker sweep will queue it'),
    });
  }
}
