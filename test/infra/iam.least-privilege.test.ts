import type { CloudTasksClient } from '@google-cloud/tasks';
import {
  cloudTasksQueueOptions,
  createCloudTasksQueue,
} from '../../src/adapters/cloud-tasks/cloud-tasks-queue';
import { loadConfig } from '../../src/config';
import {
  block,
  blocks,
  evaluate,
  INFRA_DIR,
  listTfvars,
  loadModule,
  loadTfvars,
  moduleCalls,
  parseHclFile,
  listTfFiles,
  resourcesOf,
  type Block,
  type EvalContext,
  type TfModule,
} from './support/terraform';

const PRIMITIVE_ROLE = /roles\/(owner|editor|viewer)\b/;
const PUBLIC_MEMBER = /\ballUsers\b|\ballAuthenticatedUsers\b/;
const CLOUD_RUN_SERVICE_IAM = /^google_cloud_run_(v2_)?service_iam_(member|binding)$/;

/** Prose, not configuration: it may name a role or member without granting anything. */
const PROSE = new Set(['description', 'error_message', 'documentation', 'display_name']);

/** Every configuration string in a parsed file, with the path that leads to it. */
function strings(value: unknown, path: string[] = []): { path: string[]; text: string }[] {
  if (path.some((p) => PROSE.has(p))) return [];
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, [...path, String(i)]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => strings(v, [...path, k]));
  }
  return [];
}

/** The members granted `role` by IAM resources of `type`, evaluated (for_each expanded). */
function membersWith(ctx: EvalContext, type: string, role: string): string[] {
  return resourcesOf(ctx.mod, type).flatMap(([, body]) => {
    if (evaluate(body['role'], ctx) !== role) return [];
    const forEach = evaluate(body['for_each'], ctx);
    const member = String(body['member']);
    if (forEach !== null && typeof forEach === 'object' && !Array.isArray(forEach)) {
      return Object.values(forEach).map((v) => member.replace('${each.value}', String(v)));
    }
    return [String(evaluate(member, ctx))];
  });
}

describe('IAM is least privilege, and the invokers use OIDC', () => {
  let root: TfModule;
  let child: TfModule;
  let ctx: EvalContext;
  const parsed: { file: string; json: Block }[] = [];

  beforeAll(async () => {
    root = await loadModule();
    child = await loadModule(`${INFRA_DIR}/modules/http_function`);
    const dev = listTfvars().find((p) => p.endsWith('dev.tfvars'));
    if (dev === undefined) throw new Error('no dev.tfvars');
    ctx = { mod: root, vars: await loadTfvars(dev) };
    for (const file of [...listTfFiles(), ...listTfvars()])
      parsed.push({ file, json: await parseHclFile(file) });
  });

  it('grants no primitive role and nothing to the public, anywhere', () => {
    for (const { file, json } of parsed) {
      for (const { path, text } of strings(json)) {
        const at = `${file}: ${path.join('.')}`;
        expect({
          at,
          primitive: PRIMITIVE_ROLE.test(text),
          public: PUBLIC_MEMBER.test(text),
        }).toEqual({
          at,
          primitive: false,
          public: false,
        });
      }
    }
  });

  it('grants roles/run.invoker only on the Cloud Run service under a function (service_config[0].service)', () => {
    const grants = parsed.flatMap(({ file, json }) =>
      strings(json)
        .filter((s) => s.text.includes('roles/run.invoker'))
        .map((s) => ({ file, path: s.path })),
    );
    expect(grants.length).toBeGreaterThan(0);
    for (const { file, path } of grants) {
      const [section, type, name, index, attr] = path;
      expect({ file, section, attr, length: path.length }).toEqual({
        file,
        section: 'resource',
        attr: 'role',
        length: 5,
      });
      expect(type).toMatch(CLOUD_RUN_SERVICE_IAM);
      const body = (
        parsed.find((p) => p.file === file)?.json['resource'] as Record<
          string,
          Record<string, Block[]>
        >
      )[type as string]?.[name as string]?.[Number(index)];
      expect(body?.['name'] ?? body?.['service']).toMatch(
        /^\$\{google_cloudfunctions2_function\.\w+\.service_config\[0\]\.service\}$/,
      );
    }
    for (const { json } of parsed) {
      const types = Object.keys(json['resource'] ?? {});
      expect(types.filter((t) => t.startsWith('google_cloudfunctions2_function_iam'))).toEqual([]);
    }
  });

  it('gives each function its own service account', () => {
    const accounts = moduleCalls(root, './modules/http_function').map(
      ([, body]) => body['service_account_email'],
    );
    expect(new Set(accounts).size).toBe(accounts.length);
    expect(
      resourcesOf(root, 'google_service_account')
        .map(([name]) => name)
        .sort(),
    ).toEqual(['api', 'build', 'dispatch', 'run_task', 'scheduler', 'tasks_invoker'].sort());
  });

  it('limits data roles to who needs them: Firestore for the functions, BigQuery data for run-task only', () => {
    const sa = (name: string) =>
      `serviceAccount:${String(evaluate(`\${google_service_account.${name}.email}`, ctx))}`;
    expect(membersWith(ctx, 'google_project_iam_member', 'roles/datastore.user').sort()).toEqual(
      [sa('api'), sa('run_task'), sa('dispatch')].sort(),
    );
    // The api dry-runs statements at registration (jobs) and reads table metadata, never rows.
    expect(membersWith(ctx, 'google_project_iam_member', 'roles/bigquery.jobUser').sort()).toEqual(
      [sa('run_task'), sa('api')].sort(),
    );
    const viewers = resourcesOf(root, 'google_bigquery_dataset_iam_member').filter(
      ([, b]) => b['role'] === 'roles/bigquery.metadataViewer',
    );
    expect(viewers.map(([, b]) => evaluate(b['member'], ctx))).toEqual([sa('api')]);
    expect(
      resourcesOf(root, 'google_bigquery_dataset_iam_member')
        .filter(([, b]) => String(b['role']).startsWith('roles/bigquery.data'))
        .map(([, b]) => evaluate(b['member'], ctx)),
    ).toEqual([sa('run_task')]);
    expect(membersWith(ctx, 'google_project_iam_member', 'roles/bigquery.dataEditor')).toEqual([]);
    const editors = resourcesOf(root, 'google_bigquery_dataset_iam_member').filter(
      ([, b]) => b['role'] === 'roles/bigquery.dataEditor',
    );
    expect(editors.map(([, b]) => evaluate(b['member'], ctx))).toEqual([sa('run_task')]);
    expect(
      membersWith(ctx, 'google_cloud_tasks_queue_iam_member', 'roles/cloudtasks.enqueuer').sort(),
    ).toEqual([sa('api'), sa('dispatch')].sort());
    expect(membersWith(ctx, 'google_project_iam_member', 'roles/cloudtasks.enqueuer')).toEqual([]);
    // Whoever creates a task carrying tasks-invoker's OIDC token must be able to act as it.
    const actAs = resourcesOf(root, 'google_service_account_iam_member').filter(
      ([, b]) => b['role'] === 'roles/iam.serviceAccountUser',
    );
    expect(actAs.map(([, b]) => b['service_account_id'])).toEqual([
      '${google_service_account.tasks_invoker.name}',
    ]);
    expect(
      membersWith(ctx, 'google_service_account_iam_member', 'roles/iam.serviceAccountUser').sort(),
    ).toEqual([sa('api'), sa('dispatch')].sort());
  });

  it('lets only the api and dispatch publish lifecycle events, on the events topic alone', () => {
    const sa = (name: string) =>
      `serviceAccount:${String(evaluate(`\${google_service_account.${name}.email}`, ctx))}`;
    const onEvents = resourcesOf(root, 'google_pubsub_topic_iam_member').filter(
      ([, b]) => b['topic'] === '${google_pubsub_topic.events.id}',
    );
    expect(onEvents.map(([, b]) => b['role'])).toEqual(['roles/pubsub.publisher']);
    const [[, grant] = ['', {}]] = onEvents;
    const forEach = evaluate(grant['for_each'], ctx) as Record<string, string>;
    expect(
      Object.values(forEach)
        .map((email) => `serviceAccount:${email}`)
        .sort(),
    ).toEqual([sa('api'), sa('dispatch')].sort());
    // No Pub/Sub role project-wide; the dead-letter grants go to Pub/Sub's own service agent.
    const projectRoles = resourcesOf(root, 'google_project_iam_member').map(([, b]) =>
      String(b['role'] ?? b['for_each']),
    );
    expect(projectRoles.filter((r) => r.includes('pubsub'))).toEqual([]);
    for (const type of [
      'google_pubsub_topic_iam_member',
      'google_pubsub_subscription_iam_member',
    ]) {
      for (const [name, body] of resourcesOf(root, type)) {
        if (body['topic'] === '${google_pubsub_topic.events.id}') continue;
        expect({ name, member: body['member'] }).toEqual({
          name,
          member: '${local.pubsub_service_agent}',
        });
      }
    }
  });

  it('lets Cloud Scheduler call dispatch with an OIDC token of the scheduler account, which alone may invoke it', () => {
    const jobs = resourcesOf(root, 'google_cloud_scheduler_job');
    expect(jobs.length).toBeGreaterThan(0);
    for (const [, job] of jobs) {
      const target = block(job, 'http_target');
      expect(blocks(target, 'oauth_token')).toEqual([]);
      const oidc = block(target, 'oidc_token');
      expect(oidc['service_account_email']).toBe('${google_service_account.scheduler.email}');
      expect(target['uri']).toBe('${module.dispatch.url}');
      expect(oidc['audience']).toBe('${module.dispatch.url}');
    }
    const dispatch = root.modules.get('dispatch');
    expect(dispatch?.['entry_point']).toBe('dispatch');
    expect(dispatch?.['invoker_members']).toEqual([
      'serviceAccount:${google_service_account.scheduler.email}',
    ]);
  });

  it('lets Cloud Tasks call run-task with an OIDC token of tasks-invoker, which alone may invoke it', async () => {
    const runTask = moduleCalls(root, './modules/http_function').find(
      ([, b]) => b['entry_point'] === 'runTask',
    )?.[1];
    expect(runTask?.['invoker_members']).toEqual([
      'serviceAccount:${google_service_account.tasks_invoker.email}',
    ]);

    // The queue adapter signs each task as TASKS_INVOKER_SA, which Terraform sets to tasks-invoker.
    const env = evaluate('${local.function_env}', ctx) as Record<string, unknown>;
    const config = loadConfig({
      ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])),
      SUBJECT_HASH_PEPPER: 'x'.repeat(32),
    });
    const created: unknown[] = [];
    const client = {
      queuePath: (p: string, l: string, q: string) => `projects/${p}/locations/${l}/queues/${q}`,
      createTask: async (request: unknown) => {
        created.push(request);
        return [{}];
      },
    } as unknown as CloudTasksClient;
    // The same options the composition root derives from the same config.
    const queue = createCloudTasksQueue(client, cloudTasksQueueOptions(config));
    await queue.enqueue({ taskName: 't-1', dispatchDeadlineSeconds: 60, body: {} });
    const httpRequest = (created[0] as { task: { httpRequest: Record<string, unknown> } }).task
      .httpRequest;
    expect(httpRequest['oauthToken']).toBeUndefined();
    expect(httpRequest['oidcToken']).toEqual({
      serviceAccountEmail: evaluate('${google_service_account.tasks_invoker.email}', ctx),
      audience: evaluate('${local.run_task_url}', ctx),
    });
    expect(httpRequest['url']).toBe(evaluate('${local.run_task_url}', ctx));
  });

  it('binds run.invoker in the module to its own function only', () => {
    const invokers = resourcesOf(child, 'google_cloud_run_v2_service_iam_member');
    expect(invokers.map(([, b]) => [b['role'], b['name']])).toEqual([
      ['roles/run.invoker', '${google_cloudfunctions2_function.this.service_config[0].service}'],
    ]);
  });
});
