import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { configureHttpApp } from '@flagstream/server';
import { AdminModule, type AdminDeps } from './admin.module';

/** Builds the admin HTTP app: the same for `main.ts` and for the end-to-end tests. */
export async function createAdminApp(deps: AdminDeps, options: { bodyLimit?: string } = {}): Promise<INestApplication> {
  const app = await NestFactory.create(AdminModule.forRoot(deps), { bufferLogs: true, bodyParser: false });
  configureHttpApp(app, { logger: deps.platform.logger, bodyLimit: options.bodyLimit ?? '256kb' });
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Flagstream admin API')
      .setDescription('Projects, environments, flags, segments, SDK keys, admin tokens and the audit trail. Every error has the shape { error: { code, message, details[], requestId } }.')
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an admin token (fs_admin_...)' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
