import 'reflect-metadata';
import { INestApplication, Logger, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Server, ServerResponse } from 'node:http';
import { DataSource } from 'typeorm';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { runMigrationsExclusively } from '../migrations/run-migrations';
import { addHealthCheckToDocument } from '../openapi/openapi.health';
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
    // The byte limit bounds the parameters; Express's own count limit would refuse a body of many
    // unknown (ignored) parameters as "too large".
    app.useBodyParser('urlencoded', { limit: BODY_LIMIT_BYTES, extended: false, parameterLimit: BODY_LIMIT_BYTES });
    return finish(app, config);
  }
  // A request that reaches a closing server on an open connection is served (with Connection:
  // close), as on Express, rather than given Fastify's own non-OAuth 503.
  const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, return503OnClosing: false });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { ...options, bodyParser: true });
  return finish(app, config);
}

/** What both adapters get: the schema, the OpenAPI document and UI at /docs, and what a graceful shutdown needs. */
async function finish(app: INestApplication, config: DemoConfig): Promise<INestApplication> {
  // Instances that start together on an empty database take turns (a lock on MySQL).
  await runMigrationsExclusively(app.get(DataSource));
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('nest-device-auth demo')
      .setDescription('OAuth 2.0 Device Authorization Grant (RFC 8628) with refresh, revocation and introspection.')
      .addServer(config.publicUrl)
      .build(),
  );
  addHealthCheckToDocument(document, app.get<DeviceAuthConfig>(DEVICE_AUTH_CONFIG).healthPath);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
  trackResponses(app.getHttpServer());
  return app;
}

/** The responses each server has not finished yet; read when it shuts down. */
const unfinished = new WeakMap<Server, Set<ServerResponse>>();

function trackResponses(server: Server): void {
  const open = new Set<ServerResponse>();
  unfinished.set(server, open);
  server.on('request', (_request, response: ServerResponse) => {
    open.add(response);
    response.once('close', () => open.delete(response));
  });
}

/**
 * Stops the app gracefully (main.ts calls it on SIGTERM and SIGINT). `app.close()` stops
 * accepting connections, lets the requests in flight finish, then closes the database pool
 * (TypeORM's DataSource goes with the application's shutdown hooks, after the HTTP server). What
 * it leaves open are keep-alive connections: Node keeps one after its last response until the
 * idle timeout (5 s on Express, 72 s on Fastify) and the server's close waits for it. So from
 * here on every response says `Connection: close`, and a response whose headers are already out
 * ends its connection when done.
 */
export async function closeGracefully(app: INestApplication, signal: string): Promise<void> {
  const server: Server = app.getHttpServer();
  const open = unfinished.get(server) ?? new Set<ServerResponse>();
  const logger = new Logger('Demo');
  logger.log(`${signal}: stopping; finishing ${open.size} requests in flight`);
  for (const response of open) closeAfter(response);
  server.on('request', (_request, response: ServerResponse) => closeAfter(response));
  await app.close();
  logger.log('Stopped: requests finished, database closed');
}

function closeAfter(response: ServerResponse): void {
  if (!response.headersSent) {
    response.setHeader('Connection', 'close');
    return;
  }
  const socket = response.socket;
  response.once('finish', () => socket?.end());
}
