import { parse as parseYaml } from 'yaml';
import { parseFilter } from '../../../src/cli/filter';
import {
  autoColumns,
  cellText,
  getPath,
  listView,
  parseFormat,
  render,
  renderCsv,
  renderTable,
} from '../../../src/cli/output';

/** The exit code a call's error carries; undefined when it does not throw. */
function exitCodeOf(call: () => unknown): number | undefined {
  try {
    call();
  } catch (err) {
    return (err as { exitCode?: number }).exitCode;
  }
  return undefined;
}

const rows = [
  { id: 'r1', status: 'completed', cost: { usd: 0.5 }, daysLeft: 3, notes: 'a, "quoted"\nnote' },
  { id: 'r2', status: 'in_progress', cost: { usd: 0 }, daysLeft: -2, notes: '=HYPERLINK("x")' },
];
const columns = [
  { header: 'ID', path: 'id' },
  { header: 'STATUS', path: 'status' },
  { header: 'USD', path: 'cost.usd' },
];

describe('--format', () => {
  it.each([
    ['table', { kind: 'table' }],
    ['json', { kind: 'json' }],
    ['yaml', { kind: 'yaml' }],
    ['csv', { kind: 'csv' }],
    ['value(id,cost.usd)', { kind: 'value', fields: ['id', 'cost.usd'] }],
    [' csv( id , status ) ', { kind: 'csv', fields: ['id', 'status'] }],
  ])('reads %s', (text, expected) => {
    expect(parseFormat(text)).toEqual(expected);
  });

  it.each(['xml', 'value()', 'value(id,,)', 'value(a b)', 'value(__x..y)', 'table(id)'])(
    'refuses %s as a usage error (exit 2)',
    (text) => {
      expect(exitCodeOf(() => parseFormat(text))).toBe(2);
    },
  );
});

describe('rendering', () => {
  it('pads a table under its headers, one row a line, newlines flattened', () => {
    const table = renderTable(rows, [...columns, { header: 'NOTES', path: 'notes' }]);
    const lines = table.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+USD\s+NOTES$/);
    expect(lines[1]).toMatch(/^r1\s+completed\s+0\.5\s+a, "quoted" note$/);
    // Every column starts at the same offset on every line.
    const at = (line: string, text: string) => line.indexOf(text);
    expect(at(lines[1] ?? '', 'completed')).toBe(at(lines[0] ?? '', 'STATUS'));
    expect(at(lines[2] ?? '', 'in_progress')).toBe(at(lines[0] ?? '', 'STATUS'));
  });

  it('writes RFC 4180 CSV with quotes doubled and formulas defused', () => {
    const csv = renderCsv(rows, [...columns, { header: 'NOTES', path: 'notes' }]);
    expect(csv.split('\r\n')[0]).toBe('ID,STATUS,USD,NOTES');
    expect(csv).toContain('r1,completed,0.5,"a, ""quoted""\nnote"');
    expect(csv).toContain(`r2,in_progress,0,"'=HYPERLINK(""x"")"`);
  });

  it('value() prints the fields tab-separated, nothing else', () => {
    expect(render(rows, listView(columns), parseFormat('value(id,cost.usd)'))).toBe(
      'r1\t0.5\nr2\t0\n',
    );
  });

  it('json and yaml print the answer whole', () => {
    expect(JSON.parse(render(rows, listView(columns), { kind: 'json' }))).toEqual(rows);
    expect(parseYaml(render(rows, listView(columns), { kind: 'yaml' }))).toEqual(rows);
  });

  it('csv uses the field paths as headers, and csv(…) picks the fields', () => {
    expect(render(rows, listView(columns), { kind: 'csv' }).split('\r\n')[0]).toBe(
      'id,status,cost.usd',
    );
    expect(render(rows, listView(columns), parseFormat('csv(id)'))).toBe('id\r\nr1\r\nr2\r\n');
  });

  it('reads own properties only and shows objects as JSON', () => {
    expect(getPath({ a: { b: 1 } }, 'a.b')).toBe(1);
    expect(getPath({}, 'constructor')).toBeUndefined();
    expect(getPath({ a: 1 }, 'a.toString')).toBeUndefined();
    expect(cellText({ x: 1 })).toBe('{"x":1}');
    expect(cellText(['a', 'b'])).toBe('a,b');
    expect(cellText(null)).toBe('');
  });

  it('derives columns for answers no command describes, objects one level deep', () => {
    expect(
      autoColumns([{ task: 't', cost: { usd: 1, bytesBilled: 2 } }]).map((c) => c.path),
    ).toEqual(['task', 'cost.usd', 'cost.bytesBilled']);
  });
});

describe('--filter', () => {
  const keep = (expr: string) => rows.filter(parseFilter(expr)).map((r) => r.id);

  it.each([
    ['status=completed', ['r1']],
    ['status=COMPLETED', ['r1']],
    ['status!=completed', ['r2']],
    ['status~progress', ['r2']],
    ['daysLeft<0', ['r2']],
    ['daysLeft>=3', ['r1']],
    ['cost.usd>0 AND status=completed', ['r1']],
    ['cost.usd>0 status=in_progress', []],
  ])('%s keeps %j', (expr, ids) => {
    expect(keep(expr)).toEqual(ids);
  });

  it.each(['status', 'daysLeft>x', 'status~(', ''])('refuses %j as a usage error', (expr) => {
    expect(exitCodeOf(() => parseFilter(expr))).toBe(2);
  });
});
