import { addCosts, backoffSeconds, bigQueryCost, BYTES_PER_TIB } from '../../../src/domain';

describe('bigQueryCost', () => {
  it('prices one TiB at the configured rate', () => {
    expect(bigQueryCost(BYTES_PER_TIB, 6.25)).toEqual({ bytesBilled: BYTES_PER_TIB, usd: 6.25 });
  });
  it('defaults to $6.25/TiB and prices the 10 MB minimum', () => {
    expect(bigQueryCost(10 * 2 ** 20).usd).toBeCloseTo((10 * 2 ** 20 * 6.25) / 2 ** 40, 9);
  });
  it('refuses negative bytes', () => {
    expect(() => bigQueryCost(-1)).toThrow(RangeError);
  });
  it('adds costs', () => {
    expect(addCosts({ bytesBilled: 1, usd: 0.1 }, { bytesBilled: 2, usd: 0.2 })).toEqual({
      bytesBilled: 3,
      usd: 0.3,
    });
  });
});

describe('backoffSeconds', () => {
  it('follows the Cloud Tasks shape: doubling, then linear, then the cap', () => {
    const policy = { minBackoffSeconds: 10, maxBackoffSeconds: 300, maxDoublings: 3 };
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((k) => backoffSeconds(policy, k))).toEqual([
      10, 20, 40, 80, 160, 240, 300, 300,
    ]);
  });
});
