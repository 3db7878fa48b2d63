import { ValidationError } from '../../../src/domain/errors';
import { parseForm } from '../../../src/console/form';
import type { HttpRequest } from '../../../src/http/types';

const post = (body: string, type = 'application/x-www-form-urlencoded'): HttpRequest => ({
  method: 'POST',
  path: '/console/requests/x/deny',
  query: {},
  headers: { 'content-type': type },
  body: {},
  rawBody: Buffer.from(body, 'utf8'),
});

const refusal = (req: HttpRequest) => {
  try {
    parseForm(req);
  } catch (err) {
    return err;
  }
  throw new Error('parseForm accepted the form');
};

describe('console form bodies', () => {
  it('reads each field from the raw urlencoded bytes, never a nested parse', () => {
    const { fields, lists } = parseForm(
      post('csrf=t&reason=exempt&note=a%20%3Cb%3E&subject[email]=x&taskIds=a&taskIds=b'),
    );
    expect(fields.get('reason')).toBe('exempt');
    expect(fields.get('note')).toBe('a <b>');
    expect(fields.get('subject[email]')).toBe('x');
    expect(lists.get('taskIds')).toEqual(['a', 'b']);
  });

  it('refuses a field given twice, naming it', () => {
    const err = refusal(post('reason=a&reason=b'));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([
      { path: 'reason', message: 'given more than once; give it once' },
    ]);
  });

  it.each(['application/json', 'text/plain', 'multipart/form-data; boundary=x', ''])(
    'refuses a body sent as %j',
    (type) => {
      expect(refusal(post('reason=a', type))).toBeInstanceOf(ValidationError);
    },
  );

  it('refuses an encoded lone surrogate', () => {
    expect(refusal(post('note=%ED%A0%80'))).toBeInstanceOf(ValidationError);
  });
});
