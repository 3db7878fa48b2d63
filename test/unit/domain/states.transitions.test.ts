import {
  assertTransition,
  canTransition,
  INSTANCE_STATES,
  isTerminal,
  rollupStatus,
  type InstanceState,
} from '../../../src/domain';

describe('instance state machine', () => {
  const legal: [InstanceState, InstanceState][] = [
    ['pending_approval', 'pending_enqueue'],
    ['pending_approval', 'cancelled'],
    ['pending_enqueue', 'queued'],
    ['queued', 'running'],
    ['running', 'succeeded'],
    ['running', 'failed'],
    ['running', 'retry_scheduled'],
    ['running', 'waiting'],
    ['running', 'queued'],
    ['running', 'pending_enqueue'],
    ['retry_scheduled', 'running'],
    ['retry_scheduled', 'queued'],
    ['waiting', 'running'],
    ['failed', 'pending_enqueue'],
  ];
  it.each(legal)('allows %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  const illegal: [InstanceState, InstanceState][] = [
    ['succeeded', 'running'],
    ['succeeded', 'failed'],
    ['cancelled', 'queued'],
    ['skipped', 'running'],
    ['pending_approval', 'running'],
    ['running', 'cancelled'],
    ['failed', 'succeeded'],
    ['queued', 'succeeded'],
  ];
  it.each(illegal)('refuses %s → %s with a conflict', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => assertTransition(from, to)).toThrow(/cannot go from/);
  });

  it('has exactly four terminal states', () => {
    expect(INSTANCE_STATES.filter(isTerminal).sort()).toEqual([
      'cancelled',
      'failed',
      'skipped',
      'succeeded',
    ]);
  });
});

describe('request status roll-up', () => {
  it.each<[InstanceState[], string]>([
    [[], 'completed'],
    [['succeeded', 'succeeded'], 'completed'],
    [['succeeded', 'skipped'], 'completed'],
    [['succeeded', 'failed'], 'completed_with_errors'],
    [['running', 'failed'], 'in_progress'],
    [['pending_approval', 'succeeded'], 'awaiting_approval'],
    [['pending_approval', 'queued'], 'in_progress'],
    [['cancelled', 'cancelled'], 'cancelled'],
    [['cancelled', 'skipped'], 'cancelled'],
    [['skipped', 'skipped'], 'completed'],
    [['cancelled', 'succeeded'], 'completed'],
    [['retry_scheduled'], 'in_progress'],
    [['waiting'], 'in_progress'],
  ])('%j → %s', (states, expected) => {
    expect(rollupStatus(states)).toBe(expected);
  });
});
