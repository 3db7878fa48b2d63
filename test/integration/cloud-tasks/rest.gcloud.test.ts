import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LOCATION, PROJECT, queuePath, useEmulatorAndReceiver } from './fixture';

const run = promisify(execFile);

/**
 * The REST surface through the real gcloud CLI (about a second a call, so a handful of calls).
 * gcloud runs asynchronously: the emulator shares this process and must keep serving.
 */
describe('Cloud Tasks emulator: REST surface through gcloud tasks', () => {
  const t = useEmulatorAndReceiver();
  let configDir: string;

  beforeAll(async () => {
    configDir = mkdtempSync(join(tmpdir(), 'gcloud-tasks-'));
    mkdirSync(join(configDir, 'configurations'));
    writeFileSync(join(configDir, 'active_config'), 'default');
    writeFileSync(
      join(configDir, 'configurations', 'config_default'),
      [
        '[core]',
        'disable_usage_reporting = true',
        '[auth]',
        'disable_credentials = true',
        '[api_endpoint_overrides]',
        `cloudtasks = http://127.0.0.1:${t.h.emulator.httpPort}/`,
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    rmSync(configDir, { recursive: true, force: true });
  });

  async function gcloud<T = unknown>(...args: string[]): Promise<T> {
    const { stdout } = await run(
      'gcloud',
      [...args, `--project=${PROJECT}`, '--quiet', '--format=json'],
      {
        env: { ...process.env, CLOUDSDK_CONFIG: configDir, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
      },
    );
    return (stdout.trim() === '' ? undefined : JSON.parse(stdout)) as T;
  }

  it('creates, lists, describes and pauses queues, and creates, lists and runs HTTP tasks', async () => {
    const where = `--location=${LOCATION}`;
    const name = queuePath('via-gcloud');
    await gcloud(
      'tasks',
      'queues',
      'create',
      'via-gcloud',
      where,
      '--max-attempts=5',
      '--max-dispatches-per-second=10',
    );

    const queues = await gcloud<Array<{ name: string }>>('tasks', 'queues', 'list', where);
    expect(queues.map((q) => q.name)).toContain(name);
    const described = await gcloud('tasks', 'queues', 'describe', 'via-gcloud', where);
    expect(described).toMatchObject({
      name,
      state: 'RUNNING',
      rateLimits: { maxDispatchesPerSecond: 10, maxBurstSize: 2 },
      retryConfig: { maxAttempts: 5, minBackoff: '0.100s', maxBackoff: '3600s' },
    });

    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    await gcloud(
      'tasks',
      'create-http-task',
      'from-gcloud',
      '--queue=via-gcloud',
      where,
      `--url=${t.receiver.url}`,
      '--method=POST',
      '--body-content=hello',
      '--header=Content-Type:text/plain',
      `--schedule-time=${tomorrow}`,
    );
    const tasks = await gcloud<Array<{ name: string; dispatchCount?: number }>>(
      'tasks',
      'list',
      '--queue=via-gcloud',
      where,
    );
    expect(tasks.map((t) => t.name)).toEqual([`${name}/tasks/from-gcloud`]);

    await gcloud('tasks', 'run', 'from-gcloud', '--queue=via-gcloud', where);
    await t.h.emulator.waitForIdle(name);
    expect(t.receiver.requests.at(-1)).toMatchObject({
      body: 'hello',
      headers: { 'content-type': 'text/plain', 'x-cloudtasks-taskname': 'from-gcloud' },
    });

    await gcloud('tasks', 'queues', 'pause', 'via-gcloud', where);
    expect((await t.h.client.getQueue({ name }))[0].state).toBe('PAUSED');
  });

  it('answers REST errors in the Google JSON envelope, and serves the idle and reset hooks', async () => {
    const base = `http://127.0.0.1:${t.h.emulator.httpPort}`;
    const missing = await fetch(`${base}/v2/${queuePath('nope')}/tasks`, {
      method: 'POST',
      body: '{"task":{}}',
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: {
        code: 404,
        message:
          'Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize.',
        status: 'NOT_FOUND',
      },
    });
    const iam = await fetch(`${base}/v2/${queuePath('via-gcloud')}:getIamPolicy`, {
      method: 'POST',
      body: '{}',
    });
    expect(iam.status).toBe(501);

    expect((await fetch(`${base}/emulator:idle?queue=${queuePath('via-gcloud')}`)).status).toBe(
      200,
    );
    expect((await fetch(`${base}/emulator:reset`, { method: 'POST' })).status).toBe(200);
    const listed = (await (
      await fetch(`${base}/v2/projects/${PROJECT}/locations/${LOCATION}/queues`)
    ).json()) as object;
    // proto3 JSON leaves out an empty list, as the service does.
    expect(listed).toEqual({});
  });
});
