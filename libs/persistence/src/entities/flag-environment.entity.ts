import { Column, Entity, PrimaryColumn, UpdateDateColumn, VersionColumn } from 'typeorm';
import type { PrerequisiteV1, RuleV1, ServeV1 } from '@flagstream/protocol';

/** A flag's settings in one environment: on/off, rules, default serve, prerequisites, salt. */
@Entity({ name: 'flag_environments' })
export class FlagEnvironmentEntity {
  @PrimaryColumn({ name: 'flag_id', type: 'uuid' }) flagId!: string;
  @PrimaryColumn({ name: 'environment_id', type: 'uuid' }) environmentId!: string;
  @Column({ type: 'boolean', default: false }) on!: boolean;
  @Column({ name: 'off_variation', type: 'text' }) offVariation!: string;
  @Column({ type: 'jsonb', default: () => "'[]'" }) prerequisites!: PrerequisiteV1[];
  @Column({ type: 'jsonb', default: () => "'[]'" }) rules!: RuleV1[];
  @Column({ name: 'default_serve', type: 'jsonb' }) defaultServe!: ServeV1;
  @Column({ type: 'text' }) salt!: string;
  @VersionColumn() version!: number;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
