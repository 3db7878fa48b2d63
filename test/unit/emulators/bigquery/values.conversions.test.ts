import {
  canonicalNumeric,
  formatTimestampIso,
  fromJson,
  parseDate,
  parseTimestamp,
  toCell,
  ValueError,
} from '../../../../emulators/bigquery/values';

describe('timestamps', () => {
  it.each([
    ['2024-01-02T03:04:05Z', 1_704_164_645_000_000n],
    ['2024-01-02 03:04:05 UTC', 1_704_164_645_000_000n],
    ['2024-01-02 03:04:05.123456', 1_704_164_645_123_456n],
    ['2024-01-02T03:04:05.123456789Z', 1_704_164_645_123_456n],
    ['2024-01-02T05:04:05+02:00', 1_704_164_645_000_000n],
    ['2024-01-02 01:04:05-02', 1_704_164_645_000_000n],
    ['2024-01-02', 1_704_153_600_000_000n],
    ['1969-12-31T23:59:59.999999Z', -1n],
  ])('parses %s', (text, micros) => {
    expect(parseTimestamp(text)).toBe(micros);
  });

  it.each([
    '2024-13-01',
    '2024-02-30 00:00:00',
    'yesterday',
    '2024-01-02 25:00:00',
    '2024-01-02T00:00:00 Europe/Paris',
  ])('refuses %s', (text) => {
    expect(() => parseTimestamp(text)).toThrow(ValueError);
  });

  it('formats microseconds as ISO, seconds or int64 cells', () => {
    expect(formatTimestampIso(1_704_164_645_123_456n)).toBe('2024-01-02T03:04:05.123456Z');
    expect(formatTimestampIso(-1n)).toBe('1969-12-31T23:59:59.999999Z');
    expect(toCell('TIMESTAMP', 1_704_164_645_123_456n)).toBe('1704164645123456');
    expect(toCell('TIMESTAMP', 1_704_164_645_123_456n, 'float')).toBe('1704164645.123456');
    expect(toCell('TIMESTAMP', 1_704_164_645_123_456n, 'iso')).toBe('2024-01-02T03:04:05.123456Z');
  });

  it('reads JSON numbers as seconds since the epoch', () => {
    expect(fromJson('TIMESTAMP', 1_704_164_645.5)).toBe(1_704_164_645_500_000n);
  });
});

describe('other conversions', () => {
  it.each([
    ['1.50', '1.5'],
    ['-0.0', '0'],
    ['007', '7'],
    ['1e3', '1000'],
    ['1.5E-3', '0.0015'],
    ['.5', '0.5'],
    ['-12.000000001', '-12.000000001'],
  ])('canonicalises NUMERIC %s as %s', (text, canonical) => {
    expect(canonicalNumeric(text)).toBe(canonical);
  });

  it('refuses NUMERIC beyond scale 9 or precision 38', () => {
    expect(() => canonicalNumeric('0.0000000001')).toThrow(ValueError);
    expect(() => canonicalNumeric('1'.repeat(30))).toThrow(ValueError);
  });

  it('validates dates', () => {
    expect(parseDate('2024-2-9')).toBe('2024-02-09');
    expect(() => parseDate('2023-02-29')).toThrow(ValueError);
  });

  it('converts JSON values strictly by type', () => {
    expect(fromJson('INT64', '9223372036854775807')).toBe(9_223_372_036_854_775_807n);
    expect(fromJson('INT64', 42)).toBe(42n);
    expect(() => fromJson('INT64', 1.5)).toThrow(ValueError);
    expect(() => fromJson('INT64', '9223372036854775808')).toThrow(/overflow/);
    expect(fromJson('FLOAT64', '2.5')).toBe(2.5);
    expect(fromJson('BOOL', 'TRUE')).toBe(true);
    expect(() => fromJson('STRING', 5)).toThrow(ValueError);
    expect(fromJson('BYTES', 'aGk=')).toEqual(new Uint8Array([104, 105]));
    expect(fromJson('NUMERIC', 12.25)).toBe('12.25');
    expect(fromJson('DATE', null)).toBeNull();
  });

  it('writes f/v cells as the client parses them', () => {
    expect(toCell('INT64', 9_223_372_036_854_775_807n)).toBe('9223372036854775807');
    expect(toCell('BOOL', false)).toBe('false');
    expect(toCell('BYTES', new Uint8Array([104, 105]))).toBe('aGk=');
    expect(toCell('FLOAT64', 0.1)).toBe('0.1');
    expect(toCell('STRING', null)).toBeNull();
  });
});
