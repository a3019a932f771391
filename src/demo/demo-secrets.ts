import { generateKeyPairSync, JsonWebKey, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The demo's generated secrets, kept under DATA_DIR so tokens and sessions survive restarts. */
export interface DemoSecrets {
  signingKey: JsonWebKey;
  sessionSecret: string;
}

export function loadOrCreateSecrets(dataDir: string): DemoSecrets {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'demo-secrets.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DemoSecrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const secrets: DemoSecrets = {
    signingKey: privateKey.export({ format: 'jwk' }),
    sessionSecret: randomBytes(32).toString('base64url'),
  };
  // 'wx' fails if another instance wrote the file first; then read theirs.
  try {
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return JSON.parse(readFileSync(file, 'utf8')) as DemoSecrets;
    throw error;
  }
  chmodSync(file, 0o600);
  return secrets;
}
