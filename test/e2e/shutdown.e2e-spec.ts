import { Agent, IncomingHttpHeaders, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../../src/demo/database.options';
import { DEVICE_CODE_GRANT_TYPE } from '../support/flow';
import { DemoProcess, startDemoProcess } from '../support/demo-process';
import { mariadbQuery } from '../support/mariadb';
import { ADAPTERS, DATABASES, DatabaseKind } from '../support/test-app';

/**
 * SIGTERM to the real server (`node dist/src/demo/main.js`) while it is under load. To know that
 * requests really are in flight when the signal goes, without timing: each of them is sent with
 * `Expect: 100-continue`, the server's "100 Continue" proves it has the request, and the body is
 * sent only after the signal and after the server has stopped accepting connections. Every one of
 * those requests must then get its complete, correct answer, and the process must exit 0 by
 * itself (so nothing, no pool and no timer, held it open).
 */
const LOAD = 50;
const DEVICE_AUTHORIZATION = 'client_id=demo-cli';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/**
 * A POST whose headers go out now and whose body waits for `send()`. `accepted` resolves on the
 * server's "100 Continue": the server has the request.
 */
function heldRequest(agent: Agent, port: number, path: string, body: string) {
  const req = request({
    agent,
    host: '127.0.0.1',
    port,
    method: 'POST',
    path,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(Buffer.byteLength(body)), Expect: '100-continue' },
  });
  const accepted = new Promise<void>((resolve, reject) => {
    req.once('continue', () => resolve());
    req.once('error', reject);
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
  // Either promise may be awaited first; neither failure may go unhandled meanwhile.
  accepted.catch(() => undefined);
  answer.catch(() => undefined);
  req.flushHeaders();
  return { accepted, answer, send: () => req.end(body) };
}

/** Connects until the port refuses; bounded. */
async function untilRefused(port: number): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    if (outcome !== 'connected') return outcome;
    await new Promise((r) => setTimeout(r, 25));
  }
  return 'still accepting';
}

async function post(agent: Agent, port: number, path: string, body: string): Promise<Answer> {
  const held = heldRequest(agent, port, path, body);
  await held.accepted;
  held.send();
  return held.answer;
}

/** The device codes stored, read after the server has exited, with the demo's own database options. */
async function storedCodes(database: DatabaseKind, dataDir: string): Promise<{ status: string; polled: number }[]> {
  const source = new DataSource(databaseOptions({ dataDir, databaseUrl: database === 'mariadb' ? process.env.TEST_DATABASE_URL : undefined }));
  await source.initialize();
  try {
    const rows: { status: string; polled: number | string }[] = await source.query(
      'SELECT status, CASE WHEN last_polled_at IS NULL THEN 0 ELSE 1 END AS polled FROM device_codes ORDER BY id',
    );
    return rows.map((row) => ({ status: row.status, polled: Number(row.polled) }));
  } finally {
    await source.destroy();
  }
}

describe.each(DATABASES.flatMap((db) => ADAPTERS.map((adapter) => [db, adapter] as const)))('SIGTERM under load on %s with %s', (database, adapter) => {
  let dataDir: string;
  let demo: DemoProcess | undefined;
  let agent: Agent;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'nda-shutdown-'));
    // Keep-alive, as browsers and SDKs do: these connections must not hold the shutdown open.
    agent = new Agent({ keepAlive: true, maxSockets: LOAD });
  });
  afterEach(async () => {
    agent?.destroy();
    if (demo?.child.exitCode === null) await demo.stop();
    demo = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('finishes every request in flight, refuses new connections, closes the database and exits 0', async () => {
    demo = await startDemoProcess({
      DATA_DIR: dataDir,
      HTTP_ADAPTER: adapter,
      DEVICE_AUTHORIZATION_RATE_LIMIT: '0',
      ...(database === 'mariadb' ? { DATABASE_URL: process.env.TEST_DATABASE_URL! } : {}),
    });
    const port = demo.port;
    // The tables exist once the demo has run its migrations; other suites share the database.
    if (database === 'mariadb') for (const table of ['device_codes', 'device_auth_rate_limits', 'refresh_tokens']) await mariadbQuery(`DELETE FROM ${table}`, process.env.TEST_DATABASE_URL);

    // Codes to poll, created over the same keep-alive connections the load then reuses.
    const codes: string[] = [];
    for (let i = 0; i < LOAD / 2; i++) {
      const res = await post(agent, port, '/oauth/device_authorization', DEVICE_AUTHORIZATION);
      expect(res.status).toBe(200);
      codes.push((res.body as { device_code: string }).device_code);
    }

    // Half new device authorizations, half first polls; every one is in flight at the server.
    const load = [
      ...Array.from({ length: LOAD / 2 }, () => heldRequest(agent, port, '/oauth/device_authorization', DEVICE_AUTHORIZATION)),
      ...codes.map((code) => heldRequest(agent, port, '/oauth/token', new URLSearchParams({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: code, client_id: 'demo-cli' }).toString())),
    ];
    await Promise.all(load.map((held) => held.accepted));

    process.kill(demo.child.pid!, 'SIGTERM');
    expect(await untilRefused(port)).toBe('ECONNREFUSED');
    for (const held of load) held.send();
    const answers = await Promise.all(load.map((held) => held.answer));
    const exitCode = await demo.exited;

    for (const answer of answers.slice(0, LOAD / 2)) {
      expect({ status: answer.status, body: answer.body }).toEqual({
        status: 200,
        body: {
          device_code: expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/),
          user_code: expect.stringMatching(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/),
          verification_uri: expect.any(String),
          verification_uri_complete: expect.any(String),
          expires_in: 900,
          interval: 5,
        },
      });
    }
    for (const answer of answers.slice(LOAD / 2)) {
      expect({ status: answer.status, body: answer.body }).toEqual({
        status: 400,
        body: { error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' },
      });
    }
    // Answered during the shutdown: each tells the client not to reuse its connection.
    expect(answers.map((answer) => answer.headers.connection)).toEqual(Array(LOAD).fill('close'));
    expect(exitCode).toBe(0);
    expect(demo.output()).toContain(`SIGTERM: stopping; finishing ${LOAD} requests in flight`);
    expect(demo.output()).toContain('Stopped: requests finished, database closed');
    expect(await untilRefused(port)).toBe('ECONNREFUSED');

    // What the requests in flight wrote is stored: 25 codes from before, 25 from during the shutdown, the first 25 polled once.
    const stored = await storedCodes(database, dataDir);
    expect(stored).toEqual([...Array(LOAD / 2).fill({ status: 'pending', polled: 1 }), ...Array(LOAD / 2).fill({ status: 'pending', polled: 0 })]);
  });
});
