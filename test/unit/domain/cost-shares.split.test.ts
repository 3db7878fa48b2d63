import { shareCost, splitEvenly } from '../../../src/domain/cost-shares';

describe('splitting a shared statement cost among its requests', () => {
  it.each([
    [10, 3, [4, 3, 3]],
    [9, 3, [3, 3, 3]],
    [2, 5, [1, 1, 0, 0, 0]],
    [0, 2, [0, 0]],
    [20_971_520, 1, [20_971_520]],
  ])('%d over %d members gives %j', (total, members, expected) => {
    expect(splitEvenly(total, members)).toEqual(expected);
  });

  it('adds up exactly, in bytes and in nano-dollars, whatever the numbers', () => {
    for (const [bytesBilled, usd, members] of [
      [10 * 2 ** 20, 0.000059605, 7],
      [12 * 2 ** 20, 0.000071526, 1000],
      [2 ** 40, 6.25, 3],
    ] as const) {
      const shares = shareCost({ bytesBilled, usd }, members);
      expect(shares).toHaveLength(members);
      expect(shares.reduce((n, s) => n + s.bytesBilled, 0)).toBe(bytesBilled);
      expect(Math.round(shares.reduce((n, s) => n + s.usd * 1e9, 0))).toBe(Math.round(usd * 1e9));
      const max = Math.max(...shares.map((s) => s.bytesBilled));
      const min = Math.min(...shares.map((s) => s.bytesBilled));
      expect(max - min).toBeLessThanOrEqual(1);
    }
  });

  it('refuses what cannot be split', () => {
    expect(() => splitEvenly(1.5, 2)).toThrow(RangeError);
    expect(() => splitEvenly(10, 0)).toThrow(RangeError);
  });
});
