import { Logger } from '@nestjs/common';
import { createDemoApp } from './demo.app';
import { readDemoConfig } from './demo.config';

async function main(): Promise<void> {
  const config = readDemoConfig(process.env);
  const app = await createDemoApp(config);
  await app.listen(config.port, config.host);
  const logger = new Logger('Demo');
  logger.log(`nest-device-auth demo on ${config.httpAdapter}, database: ${config.databaseUrl ? 'MySQL/MariaDB' : `SQLite in ${config.dataDir}`}`);
  logger.log(`Listening on http://${config.host}:${config.port}, public URL ${config.publicUrl}`);
  logger.log(`Metadata:     ${config.publicUrl}/.well-known/oauth-authorization-server`);
  logger.log(`Verification: ${config.publicUrl}/device`);
  logger.log(`Clients:      ${config.clients.map((c) => c.clientId).join(', ')}`);
  // The documented default is printed with its password; users from DEMO_USERS are not.
  logger.log(
    process.env.DEMO_USERS?.trim()
      ? `Sign in with: ${[...config.users.keys()].join(', ')} (passwords from DEMO_USERS)`
      : 'Sign in with: demo / demo',
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
