import { rowsToJson, timestampToIso } from '../../../../src/adapters/bigquery/rows';

describe('rowsToJson', () => {
  it('turns f/v rows into plain JSON by the schema', () => {
    const fields = [
      { name: 'email', type: 'STRING' },
      { name: 'n', type: 'INTEGER' },
      { name: 'big', type: 'INTEGER' },
      { name: 'score', type: 'FLOAT' },
      { name: 'nan', type: 'FLOAT' },
      { name: 'ok', type: 'BOOLEAN' },
      { name: 'ts', type: 'TIMESTAMP' },
      { name: 'day', type: 'DATE' },
      { name: 'amount', type: 'NUMERIC' },
      { name: 'missing', type: 'STRING' },
      { name: 'tags', type: 'STRING', mode: 'REPEATED' },
      { name: 'address', type: 'RECORD', fields: [{ name: 'city', type: 'STRING' }] },
    ];
    const row = {
      f: [
        { v: 'a@example.com' },
        { v: '42' },
        { v: '9007199254740993' },
        { v: '1.5' },
        { v: 'NaN' },
        { v: 'true' },
        { v: '1704067200123456' },
        { v: '2024-01-01' },
        { v: '12.50' },
        { v: null },
        { v: [{ v: 'x' }, { v: 'y' }] },
        { v: { f: [{ v: 'Berlin' }] } },
      ],
    };
    expect(rowsToJson(fields, [row])).toEqual([
      {
        email: 'a@example.com',
        n: 42,
        big: '9007199254740993',
        score: 1.5,
        nan: 'NaN',
        ok: true,
        ts: '2024-01-01T00:00:00.123456Z',
        day: '2024-01-01',
        amount: '12.50',
        missing: null,
        tags: ['x', 'y'],
        address: { city: 'Berlin' },
      },
    ]);
  });
});

describe('timestampToIso', () => {
  it.each([
    ['1704067200000000', '2024-01-01T00:00:00.000Z'],
    ['1704067200123000', '2024-01-01T00:00:00.123Z'],
    ['1704067200000001', '2024-01-01T00:00:00.000001Z'],
    ['-1', '1969-12-31T23:59:59.999999Z'],
    ['1.7040672E9', '2024-01-01T00:00:00.000Z'],
  ])('%s → %s', (cell, iso) => {
    expect(timestampToIso(cell)).toBe(iso);
  });
});
