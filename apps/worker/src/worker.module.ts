import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type PlatformOptions } from '@flagstream/server';

/** The worker process. Today it serves health and metrics; its features arrive with their issues. */
@Module({})
export class WorkerModule {
  static forRoot(platform: PlatformOptions): DynamicModule {
    return { module: WorkerModule, imports: [PlatformModule.forRoot(platform)] };
  }
}
