import { estimateBytesBilled } from '../../../../src/domain/cost';

const MiB = 2 ** 20;

describe('estimateBytesBilled (a dry run reports only bytes processed)', () => {
  it.each([
    ['nothing processed bills nothing', 0, 1, 0],
    ['one byte bills the 10 MiB minimum', 1, 1, 10 * MiB],
    ['just under the minimum', 10 * MiB - 1, 1, 10 * MiB],
    ['exactly the minimum', 10 * MiB, 1, 10 * MiB],
    ['rounds up to the next MiB', 10 * MiB + 1, 1, 11 * MiB],
    ['a whole number of MiB stays as it is', 12 * MiB, 1, 12 * MiB],
    ['the minimum is per referenced table', 50, 3, 30 * MiB],
    ['large scans are only rounded', 5 * 2 ** 40 + 5, 1, 5 * 2 ** 40 + MiB],
  ])('%s', (_what, processed, tables, billed) => {
    expect(estimateBytesBilled(processed, tables)).toBe(billed);
  });

  it('refuses negative or non-finite input', () => {
    expect(() => estimateBytesBilled(-1)).toThrow(RangeError);
    expect(() => estimateBytesBilled(Number.NaN)).toThrow(RangeError);
  });
});
