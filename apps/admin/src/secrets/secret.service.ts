import { Inject, Injectable } from '@nestjs/common';
import { Secrets } from '@flagstream/changes';
import type { EnvelopeCipher } from '@flagstream/crypto';
import type { Store } from '@flagstream/persistence';
import { ChangeService } from '../changes/change.service';
import { STORE } from '../common/tokens';
import { SECRET_CIPHER } from './secret.tokens';

/** Secrets (libs/changes), as the admin app's injectable. */
@Injectable()
export class SecretService extends Secrets {
  constructor(@Inject(STORE) store: Store, changes: ChangeService, @Inject(SECRET_CIPHER) cipher: EnvelopeCipher | null) {
    super(store, changes, cipher);
  }
}
