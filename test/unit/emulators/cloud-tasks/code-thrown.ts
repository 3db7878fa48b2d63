import { ApiError } from '../../../../emulators/cloud-tasks/errors';

/** The code of the ApiError `fn` throws, 'not an ApiError' for anything else, or 'none'. */
export function codeThrown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof ApiError ? err.code : 'not an ApiError';
  }
  return 'none';
}
