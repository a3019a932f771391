import 'reflect-metadata';
import { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
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
    app.useBodyParser('json', { limit: BODY_LIMIT_BYTES });
    app.useBodyParser('urlencoded', { limit: BODY_LIMIT_BYTES, extended: false, parameterLimit: 50 });
    app.enableShutdownHooks();
    return app;
  }
  const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { ...options, bodyParser: true });
  app.enableShutdownHooks();
  return app;
}
