import { Inject, Injectable } from '@nestjs/common';
import { SigningKeys } from '@flagstream/changes';
import type { EnvelopeCipher } from '@flagstream/crypto';
import type { Store } from '@flagstream/persistence';
import { ChangeService } from '../changes/change.service';
import { STORE } from '../common/tokens';
import { SECRET_CIPHER } from '../secrets/secret.tokens';

/**
 * Signing keys (libs/changes), as the admin app's injectable. Private keys are encrypted with the
 * same KEK cipher as secrets (a distinct AAD purpose keeps the two kinds of ciphertext apart).
 */
@Injectable()
export class SigningKeyService extends SigningKeys {
  constructor(@Inject(STORE) store: Store, changes: ChangeService, @Inject(SECRET_CIPHER) cipher: EnvelopeCipher | null) {
    super(store, changes, cipher);
  }
}
