import { escapeHtml, html, SafeHtml } from '../../src/device/html';

describe('escapeHtml', () => {
  it('escapes & < > " \'', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('escapes every occurrence and leaves other text alone', () => {
    expect(escapeHtml('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
    expect(escapeHtml('plain text, é 😀 /=`')).toBe('plain text, é 😀 /=`');
  });

  it('escapes already-escaped text again', () => {
    expect(escapeHtml('&amp;')).toBe('&amp;amp;');
  });

  it('drops C0 control characters and DEL, keeping tab, newline and carriage return', () => {
    const c0 = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('');
    expect(escapeHtml(`a${c0}b\x7fc<`)).toBe('a\t\n\rbc&lt;');
    expect(escapeHtml('\x00\x01\x1b\x7f')).toBe('');
  });
});

describe('html', () => {
  it('returns SafeHtml whose value and string form are the markup', () => {
    const out = html`<p>hi</p>`;
    expect(out).toBeInstanceOf(SafeHtml);
    expect(out.value).toBe('<p>hi</p>');
    expect(String(out)).toBe('<p>hi</p>');
  });

  it('drops control characters from what it interpolates, in content and attributes', () => {
    expect(html`<input value="${'X\x00Y\x1b'}"><p>${'\x7f1\x02'}</p>`.value).toBe('<input value="XY"><p>1</p>');
  });

  it('escapes interpolated strings in content and attributes', () => {
    const evil = `<script>alert("x")</script>&'`;
    expect(html`<p title="${evil}">${evil}</p>`.value).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>',
    );
  });

  it('cannot break out of a single-quoted attribute', () => {
    expect(html`<a href='${"x' onclick='alert(1)"}'>`.value).toBe(`<a href='x&#39; onclick=&#39;alert(1)'>`);
  });

  it('nests SafeHtml unescaped, while its own values stay escaped', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<div>${inner}</div>`.value).toBe('<div><b>&lt;i&gt;</b></div>');
  });

  it('joins an array of SafeHtml unescaped', () => {
    const items = ['<a>', 'b&c'].map((s) => html`<li>${s}</li>`);
    expect(html`<ul>${items}</ul>`.value).toBe('<ul><li>&lt;a&gt;</li><li>b&amp;c</li></ul>');
    expect(html`<ul>${[]}</ul>`.value).toBe('<ul></ul>');
  });

  it('renders null, undefined and false as nothing, and numbers as text', () => {
    expect(html`[${null}|${undefined}|${false}|${0}|${42}|${-1.5}]`.value).toBe('[|||0|42|-1.5]');
    expect(html`${''}`.value).toBe('');
  });

  it('does not treat a plain object with a value field as safe', () => {
    const fake = { value: '<script>' } as unknown as string;
    expect(html`${fake}`.value).toBe('[object Object]');
  });

  it('does not re-escape the literal template parts', () => {
    expect(html`<p class="a">&amp;${'&'}</p>`.value).toBe('<p class="a">&amp;&amp;</p>');
  });
});
