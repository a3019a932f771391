import { DEVICE_CODE_GRANT_TYPE } from '../../src/token/token.controller';
import { TestApp } from './test-app';

export { DEVICE_CODE_GRANT_TYPE };

/** POST /oauth/device_authorization, form-encoded. */
export function requestDeviceCode(t: TestApp, form: Record<string, string> = { client_id: 'demo-cli' }) {
  return t.http().post('/oauth/device_authorization').type('form').send(form);
}

/** Starts a flow and returns the device authorization response body. */
export async function startFlow(t: TestApp, form: Record<string, string> = { client_id: 'demo-cli' }) {
  const res = await requestDeviceCode(t, form);
  if (res.status !== 200) throw new Error(`device authorization failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string; expires_in: number; interval: number };
}

/** One poll of the token endpoint, form-encoded. */
export function poll(t: TestApp, deviceCode: string, form: Record<string, string> = { client_id: 'demo-cli' }) {
  return t.http().post('/oauth/token').type('form').send({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode, ...form });
}

/** Signs in through the demo's /login form; returns the session cookie to send back. */
export async function signIn(t: TestApp, username = 'alice', password = `${username}-password`): Promise<string> {
  const res = await t.http().post('/login').type('form').send({ username, password, next: '/device' });
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
  const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0];
  return cookie.split(';')[0];
}

/** The hidden `_csrf` value of the first form on a page. */
export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no _csrf field on the page');
  return match[1];
}

/**
 * What a person does in the browser: open /device, enter the code, then press Allow or Deny on
 * the confirmation page. Returns the final response.
 */
export async function decideViaPages(t: TestApp, cookie: string, userCode: string, action: 'approve' | 'deny' = 'approve') {
  const entry = await t.http().get('/device').set('Cookie', cookie);
  const confirm = await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: userCode, _csrf: csrfFrom(entry.text) });
  if (confirm.status !== 200) throw new Error(`confirmation page failed: ${confirm.status}`);
  return t.http().post(`/device/${action}`).set('Cookie', cookie).type('form').send({ user_code: userCode, _csrf: csrfFrom(confirm.text) });
}
