/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { poll, startFlow } from '../support/flow';
import { startTestApp, TestApp } from '../support/test-app';
import { freePort } from '../support/free-port';

const SCREENSHOTS = join(__dirname, '../../test-output/screenshots');

/** A person in Debian's Chromium, on a phone-sized screen (people scan a QR code and finish there). */
describe('the verification pages in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let baseUrl: string;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    t = await startTestApp('sqlite', 'fastify', { PUBLIC_URL: baseUrl });
    await t.app.listen(port, '127.0.0.1');
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });
  beforeEach(() => t.clearTables());

  async function personSignsInAndEntersCode(userCode: string, shots: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const blocked: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(baseUrl)) blocked.push(request.url());
    });
    await page.goto(`${baseUrl}/device`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.screenshot({ path: join(SCREENSHOTS, `${shots}-1-login.png`), fullPage: true });
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('alice-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${baseUrl}/device`);
    // Typed loosely: lower case, a space for the dash.
    await page.getByLabel('Code').fill(userCode.toLowerCase().replace('-', ' '));
    await page.screenshot({ path: join(SCREENSHOTS, `${shots}-2-entry.png`), fullPage: true });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Demo CLI wants to access your account' }).waitFor();
    await expect(page.locator('.scopes').textContent()).resolves.toContain('read — Read your data');
    await expect(page.locator('.code').textContent()).resolves.toBe(userCode);
    await page.screenshot({ path: join(SCREENSHOTS, `${shots}-3-confirm.png`), fullPage: true });
    expect(blocked).toEqual([]);
    return page;
  }

  it('signs in, takes a loosely typed code, shows client and scope, approves, and the device gets its token', async () => {
    const flow = await startFlow(t, { client_id: 'demo-cli', scope: 'read' });
    const page = await personSignsInAndEntersCode(flow.user_code, 'approve');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { level: 1, name: 'Device connected' }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'approve-4-result.png'), fullPage: true });
    const res = await poll(t, flow.device_code);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'read' });
    await page.context().close();
  });

  it('denies, and the device is told access_denied', async () => {
    const flow = await startFlow(t, { client_id: 'demo-cli', scope: 'read' });
    const page = await personSignsInAndEntersCode(flow.user_code, 'deny');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { level: 1, name: 'Request denied' }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'deny-4-result.png'), fullPage: true });
    const res = await poll(t, flow.device_code);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'access_denied', error_description: 'The user denied the request.' });
    await page.context().close();
  });

  it("another site's page cannot sign the visitor in (login CSRF): 403 and no session cookie", async () => {
    // The attacker's page, on another site (localhost is not 127.0.0.1), posting the demo's form.
    const attacker = createServer((req, res) => {
      const policy = req.url === '/no-referrer' ? '<meta name="referrer" content="no-referrer">' : '';
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><html><head>${policy}</head><body><form method="post" action="${baseUrl}/login">
        <input type="hidden" name="username" value="alice"><input type="hidden" name="password" value="alice-password">
        <input type="hidden" name="next" value="/device"><button>Win a prize</button></form></body></html>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const attackerUrl = `http://localhost:${(attacker.address() as AddressInfo).port}`;
    try {
      for (const path of ['/', '/no-referrer']) {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${attackerUrl}${path}`);
        const [response] = await Promise.all([page.waitForResponse(`${baseUrl}/login`), page.getByRole('button', { name: 'Win a prize' }).click()]);
        expect({ path, status: response.status() }).toEqual({ path, status: 403 });
        expect(await response.headerValue('set-cookie')).toBeNull();
        expect(await context.cookies(baseUrl)).toEqual([]);
        await context.close();
      }
    } finally {
      await new Promise((resolve) => attacker.close(resolve));
    }
  });

  it('can be driven with the keyboard alone', async () => {
    const flow = await startFlow(t, { client_id: 'demo-cli', scope: 'read' });
    const page = await personSignsInAndEntersCode(flow.user_code, 'keyboard');
    // From the top of the confirmation page, Tab reaches Allow first, then Deny.
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Allow');
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Deny');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Request denied' }).waitFor();
    await page.context().close();
  });
});
