// The ceiling: a bare Nest app on the same adapter with one POST route and a constant JSON reply,
// so the benchmark can say how close the device flow gets to what Nest itself does on this
// machine. Run as its own process, like the demo: PORT, HOST, HTTP_ADAPTER (fastify | express).
import 'reflect-metadata';
import { Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { CEILING_PATH } from './requests';

/** About the size of a poll's answer; the route parses the form body as any Nest route does. */
const REPLY = { error: 'authorization_pending', error_description: 'The user has not yet approved the request.' };

@Controller()
class CeilingController {
  @Post(CEILING_PATH)
  @HttpCode(200)
  reply(): typeof REPLY {
    return REPLY;
  }
}

@Module({ controllers: [CeilingController] })
class CeilingModule {}

async function main(): Promise<void> {
  const adapter = process.env.HTTP_ADAPTER === 'express' ? new ExpressAdapter() : new FastifyAdapter();
  const app = await NestFactory.create(CeilingModule, adapter, { logger: ['error'] });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
