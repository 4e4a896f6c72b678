import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type PlatformOptions } from '@flagstream/server';

/**
 * The worker's HTTP side: health and metrics. Its jobs (scheduled changes) run in the
 * `WorkerRuntime`, outside Nest, so tests can start and stop several in one process.
 */
@Module({})
export class WorkerModule {
  static forRoot(platform: PlatformOptions): DynamicModule {
    return { module: WorkerModule, imports: [PlatformModule.forRoot(platform)] };
  }
}
