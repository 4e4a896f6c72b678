import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type PlatformOptions } from '@flagstream/server';
import type { GatewayRuntime } from './gateway.runtime';
import { GATEWAY_RUNTIME } from './gateway.tokens';
import { SdkEventsController } from './events/sdk-events.controller';
import { SdkSecretsController } from './secrets/sdk-secrets.controller';
import { JwksController } from './jwks/jwks.controller';
import { OfrepController } from './ofrep/ofrep.controller';
import { SdkSocketGateway } from './socket/sdk-socket.gateway';
import { SdkStreamController } from './sse/sdk-stream.controller';

/** The SDK-facing edge: SSE streams, OFREP, acknowledgements, event intake; health and metrics. */
@Module({})
export class GatewayModule {
  static forRoot(platform: PlatformOptions, runtime?: GatewayRuntime): DynamicModule {
    if (!runtime) return { module: GatewayModule, imports: [PlatformModule.forRoot(platform)] };
    return {
      module: GatewayModule,
      imports: [PlatformModule.forRoot(platform)],
      controllers: [SdkStreamController, OfrepController, SdkEventsController, SdkSecretsController, JwksController],
      providers: [{ provide: GATEWAY_RUNTIME, useValue: runtime }, SdkSocketGateway],
    };
  }
}
