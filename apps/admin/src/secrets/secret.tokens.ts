/** The envelope cipher of secrets (an `EnvelopeCipher`, or null: secrets are unavailable). */
export const SECRET_CIPHER = Symbol('SECRET_CIPHER');
