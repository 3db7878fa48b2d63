import { subjectHash } from '../../../src/domain';

describe('subjectHash', () => {
  const pepper = 'a-secret-pepper-of-some-length';
  it('is a peppered HMAC: a different pepper gives a different hash', () => {
    const s = { email: 'ada@example.com' };
    expect(subjectHash(s, pepper)).not.toBe(subjectHash(s, `${pepper}x`));
    expect(subjectHash(s, pepper)).toMatch(/^[0-9a-f]{64}$/);
  });
  it('ignores field order and email case', () => {
    expect(subjectHash({ email: 'Ada@Example.com', userId: 'u1' }, pepper)).toBe(
      subjectHash({ userId: 'u1', email: 'ada@example.com' }, pepper),
    );
  });
  it('never contains the identifier', () => {
    expect(subjectHash({ email: 'ada@example.com' }, pepper)).not.toContain('ada');
  });
});
