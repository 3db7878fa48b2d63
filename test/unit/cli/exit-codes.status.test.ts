import { EXIT, exitCodeForStatus, isOpenStatus } from '../../../src/cli/exit-codes';

describe('exit codes', () => {
  it('keeps the documented numbers', () => {
    expect(EXIT).toEqual({ ok: 0, error: 1, usage: 2, completedWithErrors: 3, refused: 4 });
  });

  it.each([
    ['completed', 0],
    ['dry_run_completed', 0],
    ['completed_with_errors', 3],
    ['dry_run_completed_with_errors', 3],
    ['partially_completed', 3],
    ['denied', 4],
    ['cancelled', 4],
    // A closed status this CLI does not know yet is read by its name, never as plain success.
    ['failed_somehow', 3],
    ['cancelled_by_law', 4],
    ['constructor', 0],
  ])('watch ends %s with %i', (status, code) => {
    expect(exitCodeForStatus(status)).toBe(code);
  });

  it.each([
    ['awaiting_verification', true],
    ['awaiting_approval', true],
    ['awaiting_something_new', true],
    ['in_progress', true],
    ['completed', false],
    ['denied', false],
  ])('%s is open: %s', (status, open) => {
    expect(isOpenStatus(status)).toBe(open);
  });
});
