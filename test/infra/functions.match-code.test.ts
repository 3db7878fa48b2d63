import { basename } from 'node:path';
import { FUNCTIONS } from '../../functions/index';
import { knownEnvVars, loadConfig, requiredEnvVars } from '../../src/config';
import { MAX_TASK_TIMEOUT_SECONDS } from '../../src/domain/model';
import {
  block,
  evaluate,
  INFRA_DIR,
  listTfvars,
  loadModule,
  loadTfvars,
  moduleCalls,
  resource,
  Unknown,
  type Block,
  type EvalContext,
  type TfModule,
} from './support/terraform';

const FUNCTION_MODULE = './modules/http_function';
/** Cloud Tasks waits at most 30 minutes for an answer, so a longer timeout buys nothing. */
const CLOUD_TASKS_MAX_DEADLINE_SECONDS = 1800;
const RUN_TASK_ENTRY_POINT: keyof typeof FUNCTIONS = 'runTask';
const API_ENTRY_POINT: keyof typeof FUNCTIONS = 'api';
const DISPATCH_ENTRY_POINT: keyof typeof FUNCTIONS = 'dispatch';
/** Cloud Run's longest request timeout for an HTTP function. */
const HTTP_FUNCTION_MAX_TIMEOUT_SECONDS = 3600;
/** Time the api needs around an audit's executor run: reading the task, answering. */
const AUDIT_ANSWER_MARGIN_SECONDS = 30;
/**
 * What dispatch needs after its budget is spent: the page in hand finishes (its items run 16 at
 * a time, each Firestore call bounded by STORE_TIMEOUT_SECONDS) and the summary is logged.
 */
const DISPATCH_MIN_HEADROOM_SECONDS = 60;
/** Set by Cloud Run itself, or meant for local use only. */
const NOT_FOR_DEPLOYMENT = /^(K_SERVICE|K_REVISION|LOCAL_MODE|.*_EMULATOR_HOST)$/;

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

interface DeployedFunction {
  module: string;
  name: unknown;
  entryPoint: unknown;
  env: Record<string, unknown>;
  secrets: Record<string, unknown>;
  timeoutSeconds: unknown;
  maxInstances: unknown;
}

function deployedFunctions(ctx: EvalContext): DeployedFunction[] {
  return moduleCalls(ctx.mod, FUNCTION_MODULE).map(([module, body]) => ({
    module,
    name: evaluate(body['name'], ctx),
    entryPoint: evaluate(body['entry_point'], ctx),
    env: (evaluate(body['environment_variables'], ctx) ?? {}) as Record<string, unknown>,
    secrets: (evaluate(body['secret_environment_variables'], ctx) ?? {}) as Record<string, unknown>,
    timeoutSeconds: evaluate(body['timeout_seconds'], ctx),
    maxInstances: evaluate(body['max_instance_count'], ctx),
  }));
}

describe('the Terraform functions match functions/index.ts and src/config.ts', () => {
  let root: TfModule;
  let child: TfModule;
  const environments: [string, Record<string, unknown>][] = [];

  beforeAll(async () => {
    root = await loadModule();
    child = await loadModule(`${INFRA_DIR}/modules/http_function`);
    environments.push(['variable defaults (project_id from dev)', {}]);
    for (const path of listTfvars()) environments.push([basename(path), await loadTfvars(path)]);
    const dev = environments.find(([name]) => name === 'dev.tfvars');
    if (dev === undefined) throw new Error('infra/envs/dev.tfvars is missing');
    (environments[0] as [string, Record<string, unknown>])[1] = {
      project_id: dev[1]['project_id'],
    };
  });

  it('deploys exactly the entry points the code registers, each under its kebab-case service name', () => {
    const ctx = { mod: root, vars: environments[0]?.[1] ?? {} };
    const deployed = deployedFunctions(ctx);
    expect(deployed.map((f) => f.entryPoint).sort()).toEqual(Object.keys(FUNCTIONS).sort());
    for (const f of deployed) expect(f.name).toBe(kebab(String(f.entryPoint)));
  });

  it('builds every function as nodejs22 from the content-hashed zip, with the inputs the root passes', () => {
    const fn = resource(child, 'google_cloudfunctions2_function', 'this');
    const build = block(fn, 'build_config');
    expect(build['runtime']).toBe('nodejs22');
    expect(build['entry_point']).toBe('${var.entry_point}');
    expect(block(block(build, 'source'), 'storage_source')['object']).toBe('${var.source_object}');
    const service = block(fn, 'service_config');
    expect(service).toMatchObject({
      environment_variables: '${var.environment_variables}',
      timeout_seconds: '${var.timeout_seconds}',
      max_instance_count: '${var.max_instance_count}',
      service_account_email: '${var.service_account_email}',
    });
    const secrets = (service['dynamic'] as Record<string, Block[]>)[
      'secret_environment_variables'
    ]?.[0];
    expect(secrets?.['for_each']).toBe('${var.secret_environment_variables}');

    for (const [, body] of moduleCalls(root, FUNCTION_MODULE)) {
      expect(body['source_object']).toBe('${google_storage_bucket_object.function_source.name}');
    }
    const object = resource(root, 'google_storage_bucket_object', 'function_source');
    expect(object['name']).toMatch(/\$\{filemd5\(local\.function_source_zip\)\}/);
  });

  it.each(['variable defaults (project_id from dev)', 'dev.tfvars', 'prod.tfvars'])(
    'gives every function each variable loadConfig requires, and a config it accepts (%s)',
    (envName) => {
      const vars = environments.find(([name]) => name === envName)?.[1];
      if (vars === undefined) throw new Error(`no environment ${envName}`);
      const ctx = { mod: root, vars };
      const known = new Set(knownEnvVars());
      for (const f of deployedFunctions(ctx)) {
        const set = [...Object.keys(f.env), ...Object.keys(f.secrets)];
        expect({ fn: f.name, missing: requiredEnvVars().filter((v) => !set.includes(v)) }).toEqual({
          fn: f.name,
          missing: [],
        });
        expect({
          fn: f.name,
          unknown: set.filter((v) => !known.has(v) && !/^SECRET_[A-Z][A-Z0-9_]*$/.test(v)),
        }).toEqual({
          fn: f.name,
          unknown: [],
        });
        expect({ fn: f.name, localOnly: set.filter((v) => NOT_FOR_DEPLOYMENT.test(v)) }).toEqual({
          fn: f.name,
          localOnly: [],
        });
        // Secrets arrive through secret_environment_variables, never as plain values.
        // (HTTP_SECRET_ORIGINS names which origins each secret may go to: no secret value.)
        const named = Object.keys(f.env).filter((v) => v !== 'HTTP_SECRET_ORIGINS');
        expect(named.filter((v) => /PEPPER|SECRET|TOKEN|PASSWORD/.test(v))).toEqual([]);
        expect(f.secrets).toHaveProperty('SUBJECT_HASH_PEPPER');

        const unknownValues = Object.entries(f.env).filter(([, v]) => v instanceof Unknown);
        expect({ fn: f.name, unknownValues }).toEqual({ fn: f.name, unknownValues: [] });
        const env: Record<string, string> = {
          K_SERVICE: String(f.name),
          K_REVISION: `${String(f.name)}-00001-abc`,
        };
        for (const [k, v] of Object.entries(f.env)) env[k] = String(v);
        // Secret Manager supplies the values at runtime; stand in for them here.
        for (const k of Object.keys(f.secrets)) env[k] = 'x'.repeat(32);
        const config = loadConfig(env);
        expect(config.projectId).toBe(vars['project_id'] ?? config.projectId);
        expect(config.runTaskUrl).toMatch(new RegExp(`/${kebab(RUN_TASK_ENTRY_POINT)}$`));
        expect(config.invokerServiceAccount).toBe(
          evaluate('${google_service_account.tasks_invoker.email}', ctx),
        );
        expect(config.queueId).toBe(evaluate('${google_cloud_tasks_queue.runs.name}', ctx));
      }
    },
  );

  it.each(['variable defaults (project_id from dev)', 'dev.tfvars', 'prod.tfvars'])(
    "sets run-task's timeout to cover the longest task timeout plus the dispatch margin, within 1800 s (%s)",
    (envName) => {
      const vars = environments.find(([name]) => name === envName)?.[1] ?? {};
      const ctx = { mod: root, vars };
      const runTask = deployedFunctions(ctx).find((f) => f.entryPoint === RUN_TASK_ENTRY_POINT);
      if (runTask === undefined) throw new Error('no run-task function');
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(runTask.env)) env[k] = String(v);
      for (const k of Object.keys(runTask.secrets)) env[k] = 'x'.repeat(32);
      const margin = loadConfig(env).dispatchDeadlineMarginSeconds;
      expect(typeof runTask.timeoutSeconds).toBe('number');
      expect(runTask.timeoutSeconds).toBeGreaterThanOrEqual(MAX_TASK_TIMEOUT_SECONDS + margin);
      expect(runTask.timeoutSeconds).toBeLessThanOrEqual(CLOUD_TASKS_MAX_DEADLINE_SECONDS);
    },
  );

  /** The config a function loads from the environment Terraform gives it (secrets stood in). */
  const configOf = (f: DeployedFunction) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(f.env)) env[k] = String(v);
    for (const k of Object.keys(f.secrets)) env[k] = 'x'.repeat(32);
    return loadConfig(env);
  };

  it.each(['variable defaults (project_id from dev)', 'dev.tfvars', 'prod.tfvars'])(
    "sets the api's timeout to cover the longest audit, which runs under the task's timeout (%s)",
    (envName) => {
      const vars = environments.find(([name]) => name === envName)?.[1] ?? {};
      const api = deployedFunctions({ mod: root, vars }).find(
        (f) => f.entryPoint === API_ENTRY_POINT,
      );
      if (api === undefined) throw new Error('no api function');
      expect(typeof api.timeoutSeconds).toBe('number');
      expect(api.timeoutSeconds).toBeGreaterThanOrEqual(
        MAX_TASK_TIMEOUT_SECONDS + AUDIT_ANSWER_MARGIN_SECONDS,
      );
      expect(api.timeoutSeconds).toBeLessThanOrEqual(HTTP_FUNCTION_MAX_TIMEOUT_SECONDS);
    },
  );

  it.each([
    ['variable defaults (project_id from dev)', {}],
    ['dev.tfvars', {}],
    ['prod.tfvars', {}],
    ['the shortest dispatch timeout', { dispatch_timeout_seconds: 120 }],
    ['the longest dispatch timeout', { dispatch_timeout_seconds: 1770 }],
  ] as const)(
    "gives dispatch a DISPATCH_BUDGET_SECONDS its config accepts, well below dispatch's timeout (%s)",
    (envName, extra) => {
      const base =
        environments.find(([name]) => name === envName)?.[1] ?? environments[0]?.[1] ?? {};
      const vars = { ...base, ...extra };
      const deployed = deployedFunctions({ mod: root, vars });
      const dispatch = deployed.find((f) => f.entryPoint === DISPATCH_ENTRY_POINT);
      if (dispatch === undefined) throw new Error('no dispatch function');
      expect(dispatch.env).toHaveProperty('DISPATCH_BUDGET_SECONDS');
      const budget = configOf(dispatch).dispatchBudgetSeconds;
      expect(typeof dispatch.timeoutSeconds).toBe('number');
      expect(budget).toBeLessThanOrEqual(
        Number(dispatch.timeoutSeconds) - DISPATCH_MIN_HEADROOM_SECONDS,
      );
      // Only dispatch reads it; the others leave it unset rather than carry a misleading value.
      for (const f of deployed.filter((g) => g !== dispatch))
        expect(f.env).not.toHaveProperty('DISPATCH_BUDGET_SECONDS');
    },
  );

  it("keeps dispatch_timeout_seconds' lower bound high enough for a budget of at least a minute", () => {
    const validation = JSON.stringify(
      root.variables.get('dispatch_timeout_seconds')?.['validation'],
    );
    const min = /var\.dispatch_timeout_seconds >= (\d+)/.exec(validation)?.[1];
    expect(Number(min) - DISPATCH_MIN_HEADROOM_SECONDS).toBeGreaterThanOrEqual(60);
    const headroom = evaluate('${local.dispatch_budget_headroom_seconds}', { mod: root, vars: {} });
    expect(headroom).toBeGreaterThanOrEqual(DISPATCH_MIN_HEADROOM_SECONDS);
  });

  it('bounds every function with max_instance_count', () => {
    for (const [envName, vars] of environments) {
      for (const f of deployedFunctions({ mod: root, vars })) {
        expect({
          envName,
          fn: f.name,
          max: typeof f.maxInstances === 'number' && f.maxInstances >= 1,
        }).toEqual({
          envName,
          fn: f.name,
          max: true,
        });
      }
    }
  });

  it('declares every tfvars key as a variable', () => {
    for (const [envName, vars] of environments.slice(1)) {
      expect({
        envName,
        undeclared: Object.keys(vars).filter((k) => !root.variables.has(k)),
      }).toEqual({ envName, undeclared: [] });
    }
  });
});
