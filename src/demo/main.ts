import { INestApplication, Logger } from '@nestjs/common';
import { closeGracefully, createDemoApp } from './demo.app';
import { readDemoConfig } from './demo.config';

/** Longer than any request can take (the database timeouts bound them), short of an orchestrator's kill. */
const SHUTDOWN_TIMEOUT_MS = 15_000;

async function main(): Promise<void> {
  const config = readDemoConfig(process.env);
  const app = await createDemoApp(config);
  stopOnSignals(app);
  await app.listen(config.port, config.host);
  const logger = new Logger('Demo');
  logger.log(`nest-device-auth demo on ${config.httpAdapter}, database: ${config.databaseUrl ? 'MySQL/MariaDB' : `SQLite in ${config.dataDir}`}`);
  logger.log(`Listening on http://${config.host}:${config.port}, public URL ${config.publicUrl}`);
  logger.log(`Metadata:     ${config.publicUrl}/.well-known/oauth-authorization-server`);
  logger.log(`Verification: ${config.publicUrl}/device`);
  logger.log(`OpenAPI:      ${config.publicUrl}/docs`);
  logger.log(`Clients:      ${config.clients.map((c) => c.clientId).join(', ')}`);
  // The documented default is printed with its password; users from DEMO_USERS are not.
  logger.log(
    process.env.DEMO_USERS?.trim()
      ? `Sign in with: ${[...config.users.keys()].join(', ')} (passwords from DEMO_USERS)`
      : 'Sign in with: demo / demo',
  );
}

/**
 * SIGTERM (an orchestrator, `docker stop`) or SIGINT (Ctrl-C): a graceful stop, after which the
 * process exits 0 by itself, as nothing is left open. Nest's own `enableShutdownHooks()` would
 * end it by raising the signal again (no exit code 0). A stop that hangs exits 1.
 */
function stopOnSignals(app: INestApplication): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      console.error(`Not stopped ${SHUTDOWN_TIMEOUT_MS / 1000} s after ${signal}; exiting.`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    closeGracefully(app, signal).catch((error: unknown) => {
      console.error(`Shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
