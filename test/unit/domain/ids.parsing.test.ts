import { ValidationError } from '../../../src/domain/errors';
import {
  assertStoreSafeId,
  parseRequestId,
  parseRunId,
  parseTaskId,
} from '../../../src/domain/ids';

const REQUEST_ID = 'a'.repeat(32);
const LONE_SURROGATE = 'ab\uD800cd';

/** The error a parser throws, so its parameter and status can be asserted outright. */
function refusal(parse: () => unknown): ValidationError {
  try {
    parse();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

// Values a hostile caller puts where an id goes (the router decodes %2F to '/' before parsing).
const HOSTILE: [string, unknown][] = [
  ['a decoded %2F', `${REQUEST_ID.slice(0, 16)}/${REQUEST_ID.slice(0, 15)}`],
  ['a path into a run', `${REQUEST_ID}/instances/crm/runs/s1-a001-abcdef01`],
  ['..', '..'],
  ['.', '.'],
  ['__x__', '__x__'],
  ['__proto__', '__proto__'],
  ['empty', ''],
  ['over-long', 'a'.repeat(2000)],
  ['upper case', 'A'.repeat(32)],
  ['unicode', 'ä'.repeat(32)],
  ['a lone surrogate', LONE_SURROGATE],
  ['a NUL byte', `abc\u0000def`],
  ['a newline', `${'a'.repeat(31)}\n`],
  ['a number', 42],
  ['null', null],
  ['undefined', undefined],
  ['an array', [REQUEST_ID]],
  ['an object', { toString: () => REQUEST_ID }],
];

describe('parseRequestId', () => {
  it('accepts a random uuid hex and a derived x/k id', () => {
    expect(parseRequestId('0123456789abcdef0123456789abcdef')).toBe(
      '0123456789abcdef0123456789abcdef',
    );
    expect(parseRequestId(`x${'f'.repeat(31)}`)).toBe(`x${'f'.repeat(31)}`);
    expect(parseRequestId(`k${'0'.repeat(31)}`)).toBe(`k${'0'.repeat(31)}`);
  });

  it.each(HOSTILE)('refuses %s with a 400 naming the parameter', (_name, value) => {
    const err = refusal(() => parseRequestId(value));
    expect(err.code).toBe('validation_failed');
    expect(err.issues).toEqual([{ path: 'id', message: 'not a request id' }]);
    expect(err.message).toBe('Invalid input: id: not a request id');
  });

  it('names the parameter it was given', () => {
    expect(refusal(() => parseRequestId('..', 'requestId')).issues[0]?.path).toBe('requestId');
  });

  it.each([31, 33])('refuses %i characters', (n) => {
    expect(refusal(() => parseRequestId('a'.repeat(n))).issues[0]?.path).toBe('id');
  });
});

describe('parseTaskId', () => {
  it.each(['crm', 'crm-delete', 'a', '0', 'x_y-z', 'a'.repeat(63)])('accepts %s', (id) => {
    expect(parseTaskId(id)).toBe(id);
  });

  // A task id never keys a plain object (tasks are documents and Map entries), so `constructor`
  // is a well-formed, store-safe id; `__proto__` and `toString` are refused by the pattern.
  it('accepts constructor, which is only ever a document id', () => {
    expect(parseTaskId('constructor')).toBe('constructor');
    expect(() => assertStoreSafeId('constructor', 'taskId')).not.toThrow();
  });

  it.each<[string, unknown]>([
    ...HOSTILE,
    ['toString', 'toString'],
    ['a leading hyphen', '-crm'],
    ['a leading underscore', '_crm'],
    ['64 characters', 'a'.repeat(64)],
    ['a dot', 'crm.delete'],
    ['a space', 'crm delete'],
  ])('refuses %s with a 400 naming the parameter', (_name, value) => {
    const err = refusal(() => parseTaskId(value));
    expect(err.issues).toEqual([{ path: 'taskId', message: 'not a task id' }]);
  });
});

describe('parseRunId', () => {
  it.each(['s1-a001-0123abcd', 's9999-a999-ffffffff', 's2-a003-abandoned'])('accepts %s', (id) => {
    expect(parseRunId(id)).toBe(id);
  });

  it.each<[string, unknown]>([
    ...HOSTILE,
    ['no series', 'a001-0123abcd'],
    ['upper-case hex', 's1-a001-0123ABCD'],
    ['a short suffix', 's1-a001-0123abc'],
    ['five-digit series', 's12345-a001-0123abcd'],
  ])('refuses %s with a 400 naming the parameter', (_name, value) => {
    expect(refusal(() => parseRunId(value)).issues).toEqual([
      { path: 'runId', message: 'not a run id' },
    ]);
  });
});

describe('assertStoreSafeId (the store adapters second line of defence)', () => {
  it.each([REQUEST_ID, 'crm-delete', 's1-a001-0123abcd', 'a.b', '_x_', '__x', 'x__', 'ä'])(
    'lets %s through',
    (id) => {
      expect(() => assertStoreSafeId(id, 'id')).not.toThrow();
    },
  );

  it.each<[string, string]>([
    ['empty', ''],
    ['a slash', 'a/b'],
    ['a decoded %2F at the start', '/a'],
    ['.', '.'],
    ['..', '..'],
    ['__x__', '__x__'],
    ['__proto__', '__proto__'],
    ['__', '____'],
    ['__ with a newline inside', '__a\nb__'],
    ['over 1500 bytes', 'a'.repeat(1501)],
    ['over 1500 bytes in UTF-8 (751 two-byte characters)', 'ä'.repeat(751)],
  ])('refuses %s, naming what it was', (_name, id) => {
    const err = refusal(() => assertStoreSafeId(id, 'requestId'));
    expect(err.issues).toEqual([
      { path: 'requestId', message: 'not an id a document can be stored under' },
    ]);
  });

  it('refuses a non-string that slipped past the types', () => {
    expect(() => assertStoreSafeId(7 as unknown as string, 'taskId')).toThrow(ValidationError);
  });
});
