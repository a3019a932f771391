import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATABASES } from '../support/test-app';
import { assertDemoBuilt, DEMO_MAIN, startDemoProcess } from '../support/demo-process';

describe('the demo server (npm start)', () => {
  let dataDir: string;

  beforeAll(assertDemoBuilt);
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'nda-demo-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts on embedded SQLite with defaults, prints its URLs and the demo credentials, and keeps its key', async () => {
    const demo = await startDemoProcess({ DATA_DIR: dataDir });
    try {
      expect(demo.output()).toContain('Sign in with: demo / demo');
      expect(demo.output()).toContain('/device');
      const publicUrl = `http://localhost:${new URL(demo.url).port}`;
      expect(demo.output()).toContain(`OpenAPI:      ${publicUrl}/docs`);
      expect((await fetch(`${demo.url}/docs`)).status).toBe(200);
      const metadata = (await (await fetch(`${demo.url}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
      expect(metadata.issuer).toMatch(/^http:\/\/localhost:\d+$/);
      expect(existsSync(join(dataDir, 'device-auth.sqlite'))).toBe(true);
      expect(statSync(join(dataDir, 'demo-secrets.json')).mode & 0o777).toBe(0o600);
    } finally {
      await demo.stop();
    }
    const firstKeys = await keysAfterRestart(dataDir);
    const secondKeys = await keysAfterRestart(dataDir);
    expect(secondKeys).toEqual(firstKeys);
  });

  it('`npm start`, exactly as the README says, builds and serves the demo', async () => {
    const demo = await startDemoProcess({ DATA_DIR: dataDir }, { viaNpm: true });
    try {
      const res = await fetch(`${demo.url}/.well-known/oauth-authorization-server`);
      expect(res.status).toBe(200);
      expect(demo.output()).toContain('Sign in with: demo / demo');
    } finally {
      await demo.stop();
    }
  }, 90000);

  async function keysAfterRestart(dir: string): Promise<unknown> {
    const demo = await startDemoProcess({ DATA_DIR: dir });
    try {
      return await (await fetch(`${demo.url}/.well-known/jwks.json`)).json();
    } finally {
      await demo.stop();
    }
  }

  it.each(DATABASES.flatMap((db) => [[db, 'fastify'], [db, 'express']]))(
    'honours the environment on %s with %s',
    async (database, adapter) => {
      const demo = await startDemoProcess({
        DATA_DIR: dataDir,
        HTTP_ADAPTER: adapter,
        PUBLIC_URL: 'https://auth.example.test/',
        DEVICE_AUTH_CLIENTS: JSON.stringify([{ clientId: 'kiosk', name: 'Kiosk', scopes: ['print'] }]),
        DEMO_USERS: 'carol:pw1,dave:pw2',
        DEVICE_CODE_TTL: '120',
        DEVICE_POLL_INTERVAL: '3',
        ...(database === 'mariadb' ? { DATABASE_URL: process.env.TEST_DATABASE_URL! } : {}),
      });
      try {
        expect(demo.output()).toContain('Sign in with: carol, dave (passwords from DEMO_USERS)');
        expect(demo.output()).not.toContain('pw1');
        expect(demo.output()).toContain(`demo on ${adapter}`);
        expect(demo.output()).toContain('OpenAPI:      https://auth.example.test/docs');
        const res = await fetch(`${demo.url}/oauth/device_authorization`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'client_id=kiosk',
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { user_code: string };
        expect(body).toEqual({
          device_code: expect.any(String),
          user_code: expect.stringMatching(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/),
          verification_uri: 'https://auth.example.test/device',
          verification_uri_complete: `https://auth.example.test/device?user_code=${body.user_code}`,
          expires_in: 120,
          interval: 3,
        });
        const login = await fetch(`${demo.url}/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'username=carol&password=pw1&next=%2Fdevice',
        });
        expect(login.status).toBe(303);
        // PUBLIC_URL is https, so the session cookie is Secure.
        expect(login.headers.get('set-cookie')).toMatch(/^nda_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=28800; Secure$/);
      } finally {
        await demo.stop();
      }
    },
  );

  it('refuses a bad variable at start with a message that names it', async () => {
    const child = spawn(process.execPath, [DEMO_MAIN], { env: { PATH: process.env.PATH, DATA_DIR: dataDir, HTTP_ADAPTER: 'koa' } });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('HTTP_ADAPTER: must be "fastify" or "express".');
  });
});
