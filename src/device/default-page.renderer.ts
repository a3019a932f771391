import { parseScope } from '../clients/scopes';
import { formatUserCode } from '../codes/user-code';
import { DeviceAuthUser } from '../users/user-resolver.interface';
import { html, SafeHtml } from './html';
import { ConfirmPageModel, EntryPageModel, ErrorPageModel, PageRenderer, ResultPageModel, STYLESHEET_PATH } from './page-renderer.interface';

/**
 * The default verification pages: semantic markup, our own small stylesheet, no script and no
 * external request. Subclass it to change one page and keep the others.
 */
export class DefaultPageRenderer implements PageRenderer {
  entry(model: EntryPageModel): string {
    return this.layout(
      'Connect a device',
      html`
        <h1>Connect a device</h1>
        <p>Enter the code shown on your device.</p>
        ${model.problem ? html`<p class="problem" role="alert">${model.problem}</p>` : ''}
        <form method="post" action="/device" class="stack">
          <input type="hidden" name="_csrf" value="${model.csrfToken}">
          <label for="user_code">Code</label>
          <input id="user_code" name="user_code" class="code-input" value="${model.userCode ?? ''}"
            autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="64"
            placeholder="XXXX-XXXX" required autofocus aria-describedby="code-hint">
          <p id="code-hint" class="hint">Dashes, spaces and letter case do not matter.</p>
          <button type="submit" class="primary">Continue</button>
        </form>`,
      model.user,
    );
  }

  confirm(model: ConfirmPageModel): string {
    const { code, client } = model;
    const scopes = parseScope(code.scope);
    const displayCode = formatUserCode(code.userCode);
    const decision = (action: 'approve' | 'deny', label: string, cls: string) => html`
      <form method="post" action="/device/${action}">
        <input type="hidden" name="_csrf" value="${model.csrfToken}">
        <input type="hidden" name="user_code" value="${displayCode}">
        <button type="submit" class="${cls}">${label}</button>
      </form>`;
    return this.layout(
      `Allow ${client.name}?`,
      html`
        <h1><span class="client">${client.name}</span> wants to access your account</h1>
        <p>Check that this code is the one on your device's screen:</p>
        <p class="code" aria-label="Code ${displayCode.split('').join(' ')}">${displayCode}</p>
        <section>
          <h2>It will be able to</h2>
          ${
            scopes.length
              ? html`<ul class="scopes">${scopes.map((s) => html`<li><strong>${s}</strong>${model.scopeDescriptions[s] ? html` — ${model.scopeDescriptions[s]}` : ''}</li>`)}</ul>`
              : html`<p>Sign you in, with no further access.</p>`
          }
        </section>
        <section>
          <h2>The request came from</h2>
          <dl class="facts">
            <dt>When</dt><dd><time datetime="${new Date(code.createdAt).toISOString()}">${ago(model.now - code.createdAt)}</time>
              (${new Date(code.createdAt).toUTCString()})</dd>
            <dt>IP address</dt><dd>${code.requesterIp ?? 'unknown'}</dd>
            <dt>Device</dt><dd>${code.requesterUserAgent ?? 'unknown'}</dd>
          </dl>
        </section>
        <p class="warning">Only allow this if you started the sign-in yourself on a device you own.
          If someone gave you this code, deny it.</p>
        <div class="actions">
          ${decision('approve', 'Allow', 'primary')}
          ${decision('deny', 'Deny', 'secondary')}
        </div>`,
      model.user,
    );
  }

  result({ user, clientName, approved }: ResultPageModel): string {
    return this.layout(
      approved ? 'Device connected' : 'Request denied',
      approved
        ? html`<h1>Device connected</h1>
            <p class="success" role="status">You allowed <strong>${clientName}</strong>. You can return to your device; it will finish signing in by itself.</p>`
        : html`<h1>Request denied</h1>
            <p role="status"><strong>${clientName}</strong> was not given access. You can return to your device and close this page.</p>`,
      user,
    );
  }

  error({ title, detail, user }: ErrorPageModel): string {
    return this.layout(
      title,
      html`<h1>${title}</h1><p class="problem" role="alert">${detail}</p>
        ${user ? html`<p><a href="/device">Enter a code</a></p>` : ''}`,
      user,
    );
  }

  stylesheet(): string {
    return STYLESHEET;
  }

  /** The document around a page's content: head, stylesheet, and who is signed in. */
  protected layout(title: string, content: SafeHtml, user?: DeviceAuthUser): string {
    return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<main class="card">
${content}
</main>
${user ? html`<footer>Signed in as <strong>${user.displayName ?? user.id}</strong></footer>` : ''}
</body>
</html>`.value;
  }
}

function ago(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'} ago`;
  const minutes = Math.round(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'} ago`;
}

const STYLESHEET = `:root{color-scheme:light dark;--fg:#1b1f24;--muted:#57606a;--bg:#f6f8fa;--card:#fff;--line:#d0d7de;--accent:#0b57d0;--danger:#b42318;--ok:#116329}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--card:#161b22;--line:#30363d;--accent:#4493f8;--danger:#f85149;--ok:#3fb950}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:1rem;padding:1rem;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.card{width:100%;max-width:30rem;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.5rem}
h1{font-size:1.4rem;line-height:1.3;margin:0 0 .75rem}
h2{font-size:1rem;margin:1.25rem 0 .5rem;color:var(--muted)}
.client{color:var(--accent)}
.stack{display:flex;flex-direction:column;gap:.5rem}
label{font-weight:600}
.code-input{font:600 1.5rem/1.2 ui-monospace,SFMono-Regular,Menlo,monospace;letter-spacing:.15em;text-transform:uppercase;padding:.6rem .75rem;border:1px solid var(--line);border-radius:8px;background:var(--bg);color:var(--fg);width:100%}
.code-input:focus,button:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.hint{margin:0;color:var(--muted);font-size:.9rem}
.code{font:700 2rem/1.2 ui-monospace,SFMono-Regular,Menlo,monospace;letter-spacing:.2em;text-align:center;padding:.75rem;border:2px dashed var(--line);border-radius:8px;margin:.5rem 0}
.scopes{margin:0;padding-left:1.25rem}
.facts{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem;margin:0}
.facts dt{color:var(--muted)}
.facts dd{margin:0;overflow-wrap:anywhere}
.warning{border-left:4px solid var(--danger);padding:.5rem .75rem;background:var(--bg);border-radius:4px}
.problem{color:var(--danger);font-weight:600}
.success{color:var(--ok)}
.actions{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:1rem}
.actions form{flex:1 1 8rem}
button{width:100%;font:inherit;font-weight:600;padding:.7rem 1rem;border-radius:8px;border:1px solid var(--line);cursor:pointer;min-height:44px}
.primary{background:var(--accent);border-color:var(--accent);color:#fff}
.secondary{background:transparent;color:var(--danger);border-color:var(--danger)}
footer{color:var(--muted);font-size:.9rem}
a{color:var(--accent)}
`;
