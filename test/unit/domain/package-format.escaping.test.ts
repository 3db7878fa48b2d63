import { cellText, csvField, csvRecord, escapeHtml } from '../../../src/domain/package-format';

describe('the records package cell rules', () => {
  it.each<[unknown, string]>([
    ['plain', 'plain'],
    [null, ''],
    [undefined, ''],
    [0, '0'],
    [-1.5, '-1.5'],
    [true, 'true'],
    [['a', 1], '["a",1]'],
    [{ city: 'Paris' }, '{"city":"Paris"}'],
  ])('cellText(%j) is %j', (value, text) => {
    expect(cellText(value)).toBe(text);
  });

  it.each<[unknown, string]>([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['', ''],
    [null, ''],
    // CSV injection: a string a spreadsheet would run as a formula is prefixed with '.
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\rx', '"\'\rx"'],
    ['=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'],
    ['a=1', 'a=1'],
    // A number is data, not a formula.
    [-1, '-1'],
    [{ k: 'a,"b"' }, '"{""k"":""a,\\""b\\""""}"'],
  ])('csvField(%j) is %j', (value, field) => {
    expect(csvField(value)).toBe(field);
  });

  it('ends each record with CRLF', () => {
    expect(csvRecord(['a', 1, null, 'b,c'])).toBe('a,1,,"b,c"\r\n');
    expect(csvRecord([])).toBe('\r\n');
  });

  it('escapes the five HTML metacharacters and nothing else', () => {
    expect(escapeHtml(`<script>alert('x')</script>"><img onerror=y>&amp;`)).toBe(
      '&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&gt;&lt;img onerror=y&gt;&amp;amp;',
    );
    expect(escapeHtml('é 中文 🙂')).toBe('é 中文 🙂');
  });
});
