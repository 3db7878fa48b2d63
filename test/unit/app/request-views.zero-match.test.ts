import { zeroMatchTasks } from '../../../src/app/request-views';
import type { Instance } from '../../../src/domain/model';

const instance = (taskId: string, state: Instance['state'], status?: string): Instance =>
  ({
    taskId,
    state,
    ...(status === undefined
      ? {}
      : { lastRun: { runId: `${taskId}-r`, attempt: 1, status, message: '', finishedAt: '' } }),
  }) as unknown as Instance;

const deletion = { type: 'deletion' as const, dryRun: false };

describe('the zero-match warning', () => {
  it('flags a deletion task that found nothing while another found the subject', () => {
    const instances = [
      instance('crm-delete', 'succeeded', 'succeeded'),
      instance('ads-delete', 'succeeded', 'not_found'),
      instance('ga4-delete', 'succeeded', 'not_found'),
    ];
    expect(zeroMatchTasks(deletion, instances)).toEqual(['ads-delete', 'ga4-delete']);
  });

  it('says nothing when no task found the subject anywhere (they may have no data)', () => {
    const instances = [
      instance('a', 'succeeded', 'not_found'),
      instance('b', 'succeeded', 'not_found'),
    ];
    expect(zeroMatchTasks(deletion, instances)).toEqual([]);
  });

  it('says nothing for records requests, dry runs, or tasks still running', () => {
    const instances = [
      instance('a', 'succeeded', 'succeeded'),
      instance('b', 'waiting', 'not_found'),
    ];
    expect(zeroMatchTasks(deletion, instances)).toEqual([]);
    const done = [instance('a', 'succeeded', 'succeeded'), instance('b', 'succeeded', 'not_found')];
    expect(zeroMatchTasks({ type: 'records', dryRun: false }, done)).toEqual([]);
    expect(zeroMatchTasks({ type: 'deletion', dryRun: true }, done)).toEqual([]);
  });
});
