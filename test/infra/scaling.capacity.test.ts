import { basename } from 'node:path';
import { evaluate, listTfvars, loadModule, loadTfvars, type TfModule } from './support/terraform';

/**
 * docs/scaling.md's capacity rules, as infra/tasks.tf checks them at plan time (as warnings),
 * hold for every environment this repository ships: each queue can reach its rate, and
 * run-task has the CPU for it.
 */
describe('every environment has the capacity its queue rate asks for', () => {
  let root: TfModule;

  beforeAll(async () => {
    root = await loadModule();
  });

  it('keeps in flight at least one second of dispatches, and run-task instances enough for the rate', async () => {
    const paths = listTfvars();
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      const ctx = { mod: root, vars: await loadTfvars(path) };
      const num = (expr: string) => Number(evaluate(`\${${expr}}`, ctx));
      const rate = num('var.queue_max_dispatches_per_second');
      expect({ env: basename(path), rate: rate > 0 && rate <= 500 }).toEqual({
        env: basename(path),
        rate: true,
      });
      expect({
        env: basename(path),
        inFlight: num('var.queue_max_concurrent_dispatches') >= rate,
        runTask: num('local.run_task_attempts_per_second') >= rate,
      }).toEqual({ env: basename(path), inFlight: true, runTask: true });
    }
  });

  it('sizes run-task from the measured CPU per attempt', () => {
    const ctx = { mod: root, vars: { run_task_max_instances: 9 } };
    // 9 instances at 60 % CPU and 10 ms an attempt: 540 attempts a second, one queue's 500.
    expect(Number(evaluate('${local.run_task_attempts_per_second}', ctx))).toBeCloseTo(540);
  });
});
