/** The envelope cipher of secrets (an `EnvelopeCipher`, or null: secrets are unavailable). */
export const SECRET_CIPHER = Symbol('SECRET_CIPHER');
/** The `SecretRotations` of the admin (built on the admin's `Secrets`). */
export const SECRET_ROTATIONS = Symbol('SECRET_ROTATIONS');
/** The `KekMaintenance` of the keyring (status; the admin checks the keyring at start). */
export const KEK_MAINTENANCE = Symbol('KEK_MAINTENANCE');
