import { Inject, Injectable } from '@nestjs/common';
import { Certificates } from '@flagstream/changes';
import type { EnvelopeCipher } from '@flagstream/crypto';
import type { Store } from '@flagstream/persistence';
import { ChangeService } from '../changes/change.service';
import { STORE } from '../common/tokens';
import { SECRET_CIPHER } from '../secrets/secret.tokens';
import { SecretService } from '../secrets/secret.service';

/**
 * Certificates (libs/changes), as the admin app's injectable. Private keys are encrypted with the
 * secrets' KEK cipher (purpose `certificate-key`); publications go through the admin's `Secrets`,
 * so they are audited and streamed like any other secret write.
 */
@Injectable()
export class CertificateService extends Certificates {
  constructor(@Inject(STORE) store: Store, changes: ChangeService, @Inject(SECRET_CIPHER) cipher: EnvelopeCipher | null, secrets: SecretService) {
    super(store, changes, cipher, secrets);
  }
}
