import { randomBytes } from 'node:crypto';

/**
 * A project id of its own for one test file's stack. Every file of a jest run shares one
 * Firestore emulator, so stacks on the default project (`dsr-local`) would see each other's
 * requests: a filter, a listing or a deduplicated `externalId` would find another file's.
 */
export function testProjectId(name: string): string {
  return `dsr-${name}-${randomBytes(3).toString('hex')}`;
}
