import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type PlatformOptions } from '@flagstream/server';

/** The gateway process. Today it serves health and metrics; its features arrive with their issues. */
@Module({})
export class GatewayModule {
  static forRoot(platform: PlatformOptions): DynamicModule {
    return { module: GatewayModule, imports: [PlatformModule.forRoot(platform)] };
  }
}
