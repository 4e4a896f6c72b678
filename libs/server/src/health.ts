import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

/** A dependency the app cannot serve without (Postgres, Redis). */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2000;

/**
 * `/health/live`: the process answers (restart it if not). `/health/ready`: its dependencies
 * answer too (route traffic to it only then); 503 with the failing check otherwise.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
  ) {}

  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check(
      this.checks.map((c) => async () => {
        const session = this.indicators.check(c.name);
        try {
          await withTimeout(c.check(), CHECK_TIMEOUT_MS, `${c.name} did not answer within ${CHECK_TIMEOUT_MS} ms`);
          return session.up();
        } catch (e) {
          return session.down({ message: (e as Error).message });
        }
      }),
    );
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
