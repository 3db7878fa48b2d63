import { escapeHtml, markup, path, query, toText, trusted } from '../../../src/console/html';

describe('the console escaping helper', () => {
  it('escapes every character that could end text or a quoted attribute', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y' \`z\``)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;z&#96;',
    );
  });

  it('escapes every interpolated value, in text and in attributes', () => {
    const note = '<img src=x onerror="alert(1)">';
    const out = toText(markup`<p title="${note}">${note}</p>`);
    expect(out).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>',
    );
    expect(out).not.toContain('<img');
  });

  it('keeps nested templates as markup and escapes the values inside them', () => {
    const items = ['a<b', 'c&d'];
    const out = toText(
      markup`<ul>
        ${items.map((i) => markup`<li>${i}</li>`)}
      </ul>`,
    );
    expect(out.replace(/\s+/g, '')).toBe('<ul><li>a&lt;b</li><li>c&amp;d</li></ul>');
  });

  it('renders nothing for null, undefined and false, and numbers as text', () => {
    expect(toText(markup`[${null}${undefined}${false}${0}${true}]`)).toBe('[0true]');
  });

  it('does not treat a look-alike object as markup', () => {
    const forged = { text: '<script>x</script>' } as unknown as string;
    expect(toText(markup`${forged}`)).not.toContain('<script>');
  });

  it('passes constants marked as trusted through', () => {
    expect(toText(markup`${trusted('<br>')}`)).toBe('<br>');
  });

  it('percent-encodes path segments and query values', () => {
    expect(path('/console/tasks', 'a/b?c')).toBe('/console/tasks/a%2Fb%3Fc');
    expect(query({ q: 'x&y=<z>', empty: '', none: undefined })).toBe('?q=x%26y%3D%3Cz%3E');
    expect(query({})).toBe('');
  });
});
