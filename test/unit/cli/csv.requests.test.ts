import { parseCsv } from '../../../src/cli/csv';
import { readRequests, requestsFromCsv } from '../../../src/cli/request-input';

describe('parseCsv', () => {
  it('keeps the line each record starts on, through quoted line breaks, CRLF and blank lines', () => {
    const text = '\uFEFFa,b\r\n1,"two\nlines"\r\n\r\n3,"say ""hi"""\n';
    expect(parseCsv(text)).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 2, cells: ['1', 'two\nlines'] },
      { line: 5, cells: ['3', 'say "hi"'] },
    ]);
  });

  it('keeps empty cells, and a last line without a newline', () => {
    expect(parseCsv('a,b,c\n,,x')).toEqual([
      { line: 1, cells: ['a', 'b', 'c'] },
      { line: 2, cells: ['', '', 'x'] },
    ]);
  });

  it.each([
    ['a,"b\n1,2', /line 1: a quoted field is never closed/],
    ['a,b\n1,x"y', /line 2: a quote inside an unquoted field/],
    ['a,b\n"1"x,2', /line 2: text after a closing quote/],
  ])('refuses %j', (text, message) => {
    expect(() => parseCsv(text)).toThrow(message);
  });
});

describe('requests from a CSV', () => {
  const header = 'type,regulation,externalId,receivedAt,notes,email,userId,gaClientId';

  it('maps the request columns, and every other column to an identifier; an empty cell is none', () => {
    const [one, two] = requestsFromCsv(
      `${header}\ndeletion,ccpa,ext-1,2026-01-02T03:04:05Z,"a note, with a comma",jane@example.com,,GA1.2\nrecords,,ext-2,,,,u-1,\n`,
    );
    expect(one).toEqual({
      label: 'line 2',
      body: {
        type: 'deletion',
        regulation: 'ccpa',
        externalId: 'ext-1',
        receivedAt: '2026-01-02T03:04:05Z',
        notes: 'a note, with a comma',
        subject: { email: 'jane@example.com', gaClientId: 'GA1.2' },
      },
    });
    expect(one?.body?.['subject']).toEqual(expect.any(Object));
    expect(Object.getPrototypeOf(one?.body?.['subject'])).toBe(Object.prototype);
    expect(two).toEqual({
      label: 'line 3',
      body: { type: 'records', externalId: 'ext-2', subject: { userId: 'u-1' } },
    });
  });

  it('reports each bad row with its line and reason, and keeps the good ones', () => {
    const rows = requestsFromCsv(
      [
        header,
        'deletion,gdpr,ok-1,,,a@example.com,,',
        'erasure,gdpr,bad-type,,,b@example.com,,',
        'deletion,gdpr,no-subject,,,,,',
        'deletion,gdpr,bad date,2026-13-45,,c@example.com,,',
        'deletion,gdpr,ok-2,,,d@example.com,,',
        'deletion,gdpr,short-row',
      ].join('\n'),
    );
    expect(rows.filter((r) => r.body !== undefined).map((r) => r.label)).toEqual([
      'line 2',
      'line 6',
    ]);
    const bad = new Map(rows.flatMap((r) => (r.error === undefined ? [] : [[r.label, r.error]])));
    expect([...bad.keys()]).toEqual(['line 3', 'line 4', 'line 5', 'line 7']);
    expect(bad.get('line 3')).toMatch(/^type: type must be one of: deletion, records/);
    expect(bad.get('line 4')).toMatch(/^subject: the subject needs at least one identifier/);
    expect(bad.get('line 5')).toMatch(/\bexternalId: /);
    expect(bad.get('line 5')).toMatch(/\breceivedAt: an ISO-8601 date-time/);
    expect(bad.get('line 7')).toBe('3 cells where the header has 8');
  });

  it('refuses identifier columns named like inherited properties, per row', () => {
    const [row] = requestsFromCsv('type,constructor\ndeletion,x\n');
    expect(row?.error).toMatch(/subject\.constructor: an identifier name must not be an inherited/);
  });

  it('reads dryRun as true or false only', () => {
    const [yes, bad] = requestsFromCsv(
      'type,dryRun,email\ndeletion,true,a@x.com\ndeletion,yes,a@x.com\n',
    );
    expect(yes?.body?.['dryRun']).toBe(true);
    expect(bad?.error).toBe('dryRun: true or false, not "yes"');
  });

  it.each([
    ['', /the CSV is empty/],
    ['email\nx@example.com', /needs a type column/],
    ['type,email,email\n', /names email twice/],
    ['type,"a\n', /cannot be read: line 1/],
  ])('refuses a file it cannot read at all: %j', (text, message) => {
    expect(() => requestsFromCsv(text)).toThrow(message);
  });
});

describe('requests from JSON', () => {
  it('takes one request or an array, naming bad items by their place', () => {
    expect(readRequests('{"type":"deletion","subject":{"email":"a@x.com"}}')).toEqual([
      { label: 'the request', body: { type: 'deletion', subject: { email: 'a@x.com' } } },
    ]);
    const items = readRequests('[{"type":"records","subject":{"userId":"u"}},{"type":"x"}]');
    expect(items[0]?.body).toBeDefined();
    expect(items[1]?.label).toBe('item 2');
    expect(items[1]?.error).toMatch(/^type: /);
  });

  it('reads a .json file as JSON whatever it starts with, and says when it is not', () => {
    expect(() => readRequests('  nope', 'requests.json')).toThrow(/not valid JSON/);
  });
});
