import {
  consoleCsrfKey,
  createCsrfTokens,
  CSRF_TOKEN_TTL_SECONDS,
} from '../../../src/console/csrf';

const SECRET = 'a-console-csrf-secret-of-32-chars-at-least';
const NOW = new Date('2026-11-29T10:00:00Z');
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

describe('console CSRF tokens', () => {
  const tokens = createCsrfTokens(SECRET);

  it('accepts a token for the identity it was issued to, until it expires', () => {
    const token = tokens.issue('approver@example.com', NOW);
    expect(tokens.verify(token, 'approver@example.com', NOW)).toBe(true);
    expect(tokens.verify(token, 'approver@example.com', later(CSRF_TOKEN_TTL_SECONDS - 1))).toBe(
      true,
    );
    expect(tokens.verify(token, 'approver@example.com', later(CSRF_TOKEN_TTL_SECONDS))).toBe(false);
  });

  it('refuses a token issued to another identity', () => {
    const token = tokens.issue('auditor@example.com', NOW);
    expect(tokens.verify(token, 'approver@example.com', NOW)).toBe(false);
  });

  it('refuses a token signed with another secret', () => {
    const other = createCsrfTokens('another-secret-of-at-least-32-characters!');
    expect(tokens.verify(other.issue('a@example.com', NOW), 'a@example.com', NOW)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['garbage', 'not-a-token'],
    ['no mac', '1796032800.'],
    ['a far-future expiry', `99999999999.${'A'.repeat(43)}`],
    ['too long', 'x'.repeat(500)],
  ])('refuses a %s token', (_name, token) => {
    expect(tokens.verify(token, 'a@example.com', NOW)).toBe(false);
  });

  it('refuses a token whose expiry was changed (the mac covers it)', () => {
    const token = tokens.issue('a@example.com', NOW);
    const [expiry, mac] = token.split('.') as [string, string];
    const moved = `${Number(expiry) - 10}.${mac}`;
    expect(tokens.verify(moved, 'a@example.com', NOW)).toBe(false);
  });

  it('refuses a secret shorter than 32 bytes', () => {
    expect(() => createCsrfTokens('short')).toThrow(/32 bytes/);
  });

  it('derives its key from the secret, else the pepper under its own label, else at random', () => {
    const pepper = 'a-pepper-of-at-least-sixteen';
    expect(consoleCsrfKey({ secret: SECRET, pepper, localMode: false }).toString()).toBe(SECRET);
    const derived = consoleCsrfKey({ secret: undefined, pepper, localMode: false });
    expect(derived).toHaveLength(32);
    expect(derived.equals(consoleCsrfKey({ secret: undefined, pepper, localMode: false }))).toBe(
      true,
    );
    expect(derived.toString('utf8')).not.toContain(pepper);
    const a = consoleCsrfKey({ secret: undefined, pepper, localMode: true });
    const b = consoleCsrfKey({ secret: undefined, pepper, localMode: true });
    expect(a.equals(b)).toBe(false);
  });
});
