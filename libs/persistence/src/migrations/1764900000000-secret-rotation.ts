import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rotation policies of secrets (docs/secrets.md#rotation): how often a secret gets a new value,
 * from which rotator, how long the previous value is still served beside it, and the state of the
 * schedule (next time, failures, the notice already sent). One policy per secret.
 */
export class SecretRotation1764900000000 implements MigrationInterface {
  name = 'SecretRotation1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE secret_rotation_policies (
        secret_id uuid PRIMARY KEY REFERENCES secrets(id) ON DELETE RESTRICT,
        interval_seconds integer NOT NULL CHECK (interval_seconds >= 60),
        notify_before_seconds integer NOT NULL DEFAULT 0 CHECK (notify_before_seconds >= 0),
        grace_seconds integer NOT NULL DEFAULT 0 CHECK (grace_seconds >= 0),
        rotator text NOT NULL CHECK (rotator IN ('random-token', 'webhook')),
        rotator_config jsonb NOT NULL DEFAULT '{}',
        next_rotation_at timestamptz NOT NULL,
        last_rotated_at timestamptz,
        previous_version integer,
        grace_until timestamptz,
        consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
        last_error text,
        notified_for timestamptz,
        created_by jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The worker's pass: due policies, soonest first.
    await q.query(`CREATE INDEX secret_rotation_due_idx ON secret_rotation_policies (next_rotation_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE secret_rotation_policies`);
  }
}
