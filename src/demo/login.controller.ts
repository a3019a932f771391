import { Body, Controller, Get, Inject, Post, Query, Req, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { constantTimeEqual } from '../codes/device-code';
import { STYLESHEET_PATH } from '../device/page-renderer.interface';
import { html } from '../device/html';
import { PAGE_SECURITY_HEADERS } from '../device/page';
import { readParams } from '../http/request-params';
import type { DeviceAuthRequest } from '../users/user-resolver.interface';
import { DemoSessions } from './demo-session';

export const DEMO_USERS = Symbol('DEMO_USERS');
/** The origin of PUBLIC_URL: the only site whose pages may post the sign-in form. */
export const DEMO_ORIGIN = Symbol('DEMO_ORIGIN');

const LOGIN_PARAMS = { username: 128, password: 256, next: 512 } as const;

/**
 * The pages' headers, but `same-origin` referrers: under `no-referrer` browsers send the form's
 * POST with `Origin: null`, and the cross-site check needs the real origin. Other sites still get
 * no referrer (the `next` in this page's URL may hold a user code).
 */
const LOGIN_PAGE_HEADERS: Readonly<Record<string, string>> = { ...PAGE_SECURITY_HEADERS, 'Referrer-Policy': 'same-origin' };

/** The demo's small sign-in, standing in for the host application's own. */
@Controller()
export class LoginController {
  constructor(
    private readonly sessions: DemoSessions,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(DEMO_USERS) private readonly users: Map<string, string>,
    @Inject(DEMO_ORIGIN) private readonly origin: string,
  ) {}

  @Get('login')
  form(@Query() query: unknown, @Res() response: unknown): void {
    const { next } = safeParams(query);
    this.page(response, 200, localPath(next));
  }

  @Post('login')
  signIn(@Req() request: DeviceAuthRequest, @Body() body: unknown, @Res() response: unknown): void {
    const { username, password, next } = safeParams(body);
    // Login CSRF (RFC 6749 §10.12): another site's page must not sign the visitor into an account
    // of its choosing, whose approvals it would then see. The form is only accepted from our own pages.
    if (this.isCrossSite(request)) {
      return this.page(response, 403, localPath(next), `This sign-in did not come from this site's own page. Open ${this.origin}/login and sign in there.`);
    }
    const expected = username === undefined ? undefined : this.users.get(username);
    if (username === undefined || expected === undefined || password === undefined || !constantTimeEqual(password, expected)) {
      return this.page(response, 401, localPath(next), 'Wrong username or password.');
    }
    const http = this.adapterHost.httpAdapter;
    http.setHeader(response, 'Set-Cookie', this.sessions.issue(username));
    http.setHeader(response, 'Cache-Control', 'no-store');
    http.redirect(response, 303, localPath(next));
  }

  @Post('logout')
  signOut(@Res() response: unknown): void {
    const http = this.adapterHost.httpAdapter;
    http.setHeader(response, 'Set-Cookie', this.sessions.clear());
    http.redirect(response, 303, '/login');
  }

  /** Fetch metadata or Origin naming another site; a request with neither (curl, a CLI) is no browser's. */
  private isCrossSite(request: DeviceAuthRequest): boolean {
    const site = request.headers['sec-fetch-site'];
    const origin = request.headers.origin;
    return site === 'cross-site' || site === 'same-site' || (origin !== undefined && origin !== this.origin);
  }

  private page(response: unknown, status: number, next: string, problem?: string): void {
    const body = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in</title><link rel="stylesheet" href="${STYLESHEET_PATH}"></head>
<body><main class="card">
<h1>Sign in</h1>
${problem ? html`<p class="problem" role="alert">${problem}</p>` : ''}
<form method="post" action="/login" class="stack">
<input type="hidden" name="next" value="${next}">
<label for="username">Username</label>
<input id="username" name="username" class="code-input" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" class="code-input" autocomplete="current-password" required>
<button type="submit" class="primary">Sign in</button>
</form>
</main></body></html>`;
    const http = this.adapterHost.httpAdapter;
    for (const [name, value] of Object.entries(LOGIN_PAGE_HEADERS)) http.setHeader(response, name, value);
    http.reply(response, body.value, status);
  }
}

/** Bad input on the sign-in form is treated as absent, never an error page. */
function safeParams(source: unknown): Partial<Record<keyof typeof LOGIN_PARAMS, string>> {
  try {
    return readParams(source, LOGIN_PARAMS);
  } catch {
    return {};
  }
}

/**
 * Only same-site paths: `next` must never send someone to another site after signing in. It also
 * becomes the Location header, so only printable ASCII (a URL's own characters) is kept: a control
 * character or one beyond Latin-1 there makes Node throw while Fastify writes the header, which
 * left the request hanging and the error uncaught.
 */
function localPath(next: string | undefined): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.includes('\\') && /^[\x21-\x7e]+$/.test(next) ? next : '/device';
}
