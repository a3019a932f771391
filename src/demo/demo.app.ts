import 'reflect-metadata';
import { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule, DemoOverrides } from './app.module';
import { DemoConfig } from './demo.config';
import { loadOrCreateSecrets } from './demo-secrets';

/** Every request body is small in this protocol; larger ones are refused before parsing. */
export const BODY_LIMIT_BYTES = 16 * 1024;

/** Builds the demo application on the configured adapter; `main.ts` and the tests share it. */
export async function createDemoApp(config: DemoConfig, overrides: DemoOverrides = {}, logger?: LoggerService | false): Promise<INestApplication> {
  const secrets = loadOrCreateSecrets(config.dataDir);
  const module = AppModule.forRoot(config, secrets, overrides);
  const options = { bodyParser: false, ...(logger === undefined ? {} : { logger }) };
  if (config.httpAdapter === 'express') {
    const app = await NestFactory.create<NestExpressApplication>(module, new ExpressAdapter(), options);
    app.disable('x-powered-by');
    app.useBodyParser('json', { limit: BODY_LIMIT_BYTES });
    app.useBodyParser('urlencoded', { limit: BODY_LIMIT_BYTES, extended: false, parameterLimit: 1000 });
    return finish(app, config);
  }
  const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { ...options, bodyParser: true });
  return finish(app, config);
}

/** What both adapters get: the OpenAPI document and UI at /docs, and a clean shutdown. */
function finish(app: INestApplication, config: DemoConfig): INestApplication {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('nest-device-auth demo')
      .setDescription('OAuth 2.0 Device Authorization Grant (RFC 8628) with refresh, revocation and introspection.')
      .addServer(config.publicUrl)
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
  app.enableShutdownHooks();
  return app;
}
