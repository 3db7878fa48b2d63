import { basename } from 'node:path';
import { loadConfig } from '../../src/config';
import { retryPolicySchema } from '../../src/domain/model';
import {
  block,
  evaluate,
  listTfvars,
  loadModule,
  loadTfvars,
  resource,
  type TfModule,
} from './support/terraform';

const seconds = (duration: unknown) => {
  const m = /^(\d+(?:\.\d+)?)s$/.exec(String(duration));
  if (m?.[1] === undefined) throw new Error(`not a duration in seconds: ${String(duration)}`);
  return Number(m[1]);
};

describe('the queue and the schedule match the code', () => {
  let root: TfModule;

  beforeAll(async () => {
    root = await loadModule();
  });

  it('never lets Cloud Tasks give up before the code does, and retries soon after a task backoff ends', () => {
    const queue = resource(root, 'google_cloud_tasks_queue', 'runs');
    const retry = block(queue, 'retry_config');
    // run-task answers 2xx once an attempt is recorded (terminal failures included), and 503
    // while a retry is not yet due: the queue must retry without limit.
    expect(retry['max_attempts']).toBe(-1);
    expect(seconds(retry['max_retry_duration'])).toBe(0);
    // A task's retry is at most max_backoff late; keep that within the code's default backoff.
    const taskDefaults = retryPolicySchema.parse({});
    expect(seconds(retry['min_backoff'])).toBeLessThanOrEqual(taskDefaults.minBackoffSeconds);
    expect(seconds(retry['max_backoff'])).toBeLessThanOrEqual(taskDefaults.maxBackoffSeconds);
    expect(seconds(retry['min_backoff'])).toBeLessThanOrEqual(seconds(retry['max_backoff']));
    expect(retry['max_doublings']).toBeGreaterThanOrEqual(0);
    expect(block(queue, 'rate_limits')).toEqual({
      max_dispatches_per_second: '${var.queue_max_dispatches_per_second}',
      max_concurrent_dispatches: '${var.queue_max_concurrent_dispatches}',
    });
    expect(block(queue, 'stackdriver_logging_config')).toHaveProperty('sampling_ratio');
  });

  it('names the queue as the code defaults TASKS_QUEUE, and keeps every environment within what run-task serves', async () => {
    const minimal = loadConfig({
      GOOGLE_CLOUD_PROJECT: 'p',
      RUN_TASK_URL: 'https://example.test/run-task',
      TASKS_INVOKER_SA: 'a@p.iam.gserviceaccount.com',
      SUBJECT_HASH_PEPPER: 'x'.repeat(32),
    });
    expect(evaluate('${var.tasks_queue_id}', { mod: root, vars: {} })).toBe(minimal.queueId);
    expect(resource(root, 'google_cloud_tasks_queue', 'runs')['name']).toBe(
      '${var.tasks_queue_id}',
    );
    for (const path of listTfvars()) {
      const vars = await loadTfvars(path);
      const ctx = { mod: root, vars };
      const value = (name: string) => Number(evaluate(`\${var.${name}}`, ctx));
      expect({
        env: basename(path),
        ok:
          value('queue_max_concurrent_dispatches') <=
          value('run_task_max_instances') * value('run_task_concurrency'),
      }).toEqual({
        env: basename(path),
        ok: true,
      });
      expect(
        seconds(
          evaluate(
            resource(root, 'google_cloud_scheduler_job', 'dispatch')['attempt_deadline'],
            ctx,
          ),
        ),
      ).toBeLessThanOrEqual(1800);
    }
  });

  it('calls dispatch every 5 minutes by default', () => {
    const ctx = { mod: root, vars: {} };
    expect(
      evaluate(resource(root, 'google_cloud_scheduler_job', 'dispatch')['schedule'], ctx),
    ).toBe('*/5 * * * *');
  });
});
