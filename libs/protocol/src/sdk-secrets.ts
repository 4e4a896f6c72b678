/** Version of the body of `GET /sdk/v1/secrets`. */
export const SDK_SECRETS_VERSION = 1 as const;

/** One secret as a server SDK receives it. */
export interface SdkSecretV1 {
  /** The version served (the current one). */
  version: number;
  value: string;
  /** The environment it is defined in: the key's own, or one it inherits from. */
  definedIn: string;
  /**
   * Right after a rotation with a grace period: the value it replaced, still valid until `until`
   * (consumers that verify credentials accept both meanwhile).
   */
  previous?: { version: number; value: string; until: string };
}

/**
 * `GET /sdk/v1/secrets` (server SDK keys only): every secret the key's secret policies let it read
 * in its environment, by path, with its current value. Fetched over HTTPS on start and again when
 * the stream announces a `secret.changed`; values never travel in the stream. See docs/secrets.md.
 */
export interface SdkSecretsV1 {
  v: typeof SDK_SECRETS_VERSION;
  environment: string;
  secrets: Record<string, SdkSecretV1>;
}
