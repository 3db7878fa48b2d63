import { ValidationError } from '../../../src/domain/errors';
import { MAX_BODY_DEPTH, parseJsonBody } from '../../../src/http/json-body';
import type { HttpRequest } from '../../../src/http/types';

/** A write as the framework hands it over: the bytes, and what its parser made of them. */
function wire(
  text: string | Buffer,
  contentType = 'application/json',
  body?: unknown,
): HttpRequest {
  const rawBody = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return {
    method: 'POST',
    path: '/tasks',
    query: {},
    headers: { 'content-type': contentType },
    body: body === undefined ? rawBody : body,
    rawBody,
  };
}

const nested = (levels: number): unknown =>
  levels === 0 ? 'leaf' : { [`l${levels}`]: nested(levels - 1) };

function refusal(req: HttpRequest): ValidationError {
  try {
    parseJsonBody(req);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

describe('parseJsonBody', () => {
  it('takes a JSON body, as parsed by the framework or from its bytes', () => {
    expect(
      parseJsonBody(wire('{"a":[1,{"b":"c"}]}', 'application/json', { a: [1, { b: 'c' }] })),
    ).toEqual({
      a: [1, { b: 'c' }],
    });
    expect(parseJsonBody(wire('{"a":1}', 'application/merge-patch+json'))).toEqual({ a: 1 });
    expect(parseJsonBody(wire('{"a":1}', 'application/json; charset=utf-8'))).toEqual({ a: 1 });
  });

  it('has no body for reads, or for an empty write', () => {
    expect(parseJsonBody({ ...wire('{"a":1}'), method: 'GET' })).toBeUndefined();
    expect(
      parseJsonBody({ method: 'POST', path: '/', query: {}, headers: {}, body: undefined }),
    ).toBeUndefined();
    expect(parseJsonBody(wire('  '))).toBeUndefined();
  });

  it('takes a body handed over already parsed (no bytes: not from the wire)', () => {
    expect(
      parseJsonBody({ method: 'PUT', path: '/', query: {}, headers: {}, body: { a: 1 } }),
    ).toEqual({ a: 1 });
  });

  it.each([
    ['a form post', 'application/x-www-form-urlencoded', { type: 'deletion' }],
    ['text/plain', 'text/plain', '{"type":"deletion"}'],
    ['no content type', '', undefined],
    ['a multipart form', 'multipart/form-data; boundary=x', undefined],
    ['json in another type', 'application/jsonx', undefined],
  ])('refuses %s: a browser sends it cross-site without asking', (_name, type, parsed) => {
    const err = refusal(wire('{"type":"deletion"}', type, parsed));
    expect(err.issues).toEqual([
      { path: '', message: 'a body must be JSON, sent with Content-Type: application/json' },
    ]);
  });

  it('refuses malformed JSON and invalid UTF-8 in bytes it parses itself', () => {
    expect(refusal(wire('{"a":', 'application/merge-patch+json')).message).toMatch(
      /malformed JSON/,
    );
    const err = refusal(wire(Buffer.from([0x7b, 0xff, 0x7d]), 'application/merge-patch+json'));
    expect(err.code).toBe('invalid_utf8');
  });

  it.each<[string, string, string]>([
    ['__proto__ at the top', '{"__proto__":{"admin":true}}', '__proto__'],
    [
      '__proto__ deep inside',
      '{"config":{"body":{"__proto__":{"isAdmin":true}}}}',
      'config.body.__proto__',
    ],
    ['a Firestore-reserved __name__', '{"config":{"__name__":"x"}}', 'config.__name__'],
    ['__proto__ inside an array', '{"a":[{"__proto__":1}]}', 'a[0].__proto__'],
    ['a lone surrogate in a value', '{"name":"\\ud800"}', 'name'],
    ['a lone surrogate in a key', '{"n\\udc00":"x"}', ''],
    ['a lone surrogate in an array', '{"a":["ok","\\udfff"]}', 'a[1]'],
  ])('refuses %s, naming where', (_name, text, path) => {
    // JSON.parse makes `__proto__` an own key, as body-parser's parse does.
    const err = refusal(wire(text, 'application/json', JSON.parse(text) as unknown));
    expect(err.issues[0]?.path).toBe(path);
    expect(err.code).toBe('validation_failed');
  });

  it('takes a well-formed surrogate pair and keys named like inherited members', () => {
    const text = '{"emoji":"\\ud83d\\ude00","constructor":"x","__x":1,"x__":2}';
    expect(parseJsonBody(wire(text, 'application/json', JSON.parse(text) as unknown))).toEqual({
      emoji: '😀',
      constructor: 'x',
      __x: 1,
      x__: 2,
    });
  });

  it(`refuses nesting deeper than ${MAX_BODY_DEPTH} levels, and takes ${MAX_BODY_DEPTH}`, () => {
    const deep = nested(MAX_BODY_DEPTH);
    expect(parseJsonBody(wire(JSON.stringify(deep), 'application/json', deep))).toEqual(deep);
    const deeper = nested(MAX_BODY_DEPTH + 1);
    expect(
      refusal(wire(JSON.stringify(deeper), 'application/json', deeper)).issues[0]?.message,
    ).toBe(`nested deeper than ${MAX_BODY_DEPTH} levels`);
    const arrays = JSON.parse(`${'['.repeat(30_000)}${']'.repeat(30_000)}`) as unknown;
    expect(refusal(wire('[]', 'application/json', arrays)).issues[0]?.message).toMatch(
      /nested deeper/,
    );
  });
});
