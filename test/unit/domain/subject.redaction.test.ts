import { identifierRedactor } from '../../../src/domain/subject';

describe('identifierRedactor', () => {
  const redact = identifierRedactor({ email: 'jane.o+dsr@example.com', userId: 'u-77' });

  it('replaces each value, as given and URL-encoded, with its kind', () => {
    expect(redact('DELETE /users/jane.o%2Bdsr%40example.com for jane.o+dsr@example.com')).toBe(
      'DELETE /users/[redacted:email] for [redacted:email]',
    );
    expect(redact('owner u-77; attempt 2')).toBe('owner [redacted:userId]; attempt 2');
  });

  it('takes a value that holds another whole, and treats values as plain text', () => {
    const nested = identifierRedactor({ userId: 'ann', email: 'ann@x.io', code: 'a.b' });
    expect(nested('ann@x.io ann axb a.b')).toBe(
      '[redacted:email] [redacted:userId] axb [redacted:code]',
    );
  });

  it('changes nothing when there is nothing to redact', () => {
    expect(identifierRedactor({})('jane@example.com')).toBe('jane@example.com');
    expect(redact('nothing personal')).toBe('nothing personal');
  });
});
