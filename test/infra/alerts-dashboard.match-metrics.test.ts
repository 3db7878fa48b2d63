import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_EVENTS } from '../../src/ports/log-events';
import { logMetricsOf, type LogMetric } from './support/log-metrics';
import {
  block,
  blocks,
  evaluate,
  INFRA_DIR,
  instancesOf,
  REPO_ROOT,
  loadModule,
  resource,
  resourcesOf,
  splitTemplate,
  type EvalContext,
  type ResourceInstance,
  type TfModule,
} from './support/terraform';

/** Sections of docs/runbook.md the alerts link to (the runbook must keep these anchors). */
const RUNBOOK_ANCHORS = [
  'a-run-failed',
  'dispatch-is-not-running',
  'queue-backlog',
  'api-errors',
  'request-overdue',
  'cost-over-budget',
  'attempts-keep-being-abandoned',
  'a-batch-is-stuck',
  'a-request-waits-for-identity-verification',
  'lifecycle-events-are-not-arriving',
  'a-downstream-system-is-broken-pause-its-task',
];
/** Google's own metrics the alerts and tiles may read, besides our log-based ones. */
const BUILT_IN_METRICS = [
  'cloudtasks.googleapis.com/queue/depth',
  'cloudtasks.googleapis.com/queue/task_attempt_delays',
  'run.googleapis.com/request_count',
];
/** The tiles the issue asks for, by a phrase of their title. */
const REQUIRED_TILES = [
  /outcomes over time/i,
  /duration p50 \/ p95/i,
  /cost per day/i,
  /cost per task/i,
  /queue depth/i,
  /attempt delays/i,
  /open requests by days left/i,
  /dispatch health/i,
  /errors by service/i,
  /expired leases, re-armed/i,
  /abandoned attempts by task/i,
  /re-armed instances by reason/i,
  /batch size p50 \/ p95/i,
  /batch wait and flush duration/i,
  /bytes saved by batching/i,
  /failed batches/i,
];

interface MetricRef {
  metric: string;
  labels: Record<string, string>;
  promqlSuffix?: string;
}

/** The metrics a Monitoring filter or a PromQL query names, with the metric labels it filters on. */
function metricRefs(query: string): MetricRef[] {
  const refs: MetricRef[] = [];
  const labels: Record<string, string> = {};
  for (const m of query.matchAll(/metric\.labels?\.(\w+)\s*=\s*"([^"]*)"/g))
    labels[m[1] as string] = m[2] as string;
  for (const m of query.matchAll(/metric\.type\s*=\s*"([^"]+)"/g))
    refs.push({ metric: m[1] as string, labels });
  for (const m of query.matchAll(
    /logging_googleapis_com:user_(\w+?)(_sum|_count|_bucket)?(?=[{[\s)]|$)/g,
  )) {
    refs.push({
      metric: `logging.googleapis.com/user/${m[1] as string}`,
      labels: {},
      ...(m[2] === undefined ? {} : { promqlSuffix: m[2] }),
    });
  }
  return refs;
}

function checkRef(ref: MetricRef, metrics: readonly LogMetric[], where: string): void {
  const userMetric = /^logging\.googleapis\.com\/user\/(.+)$/.exec(ref.metric)?.[1];
  if (userMetric === undefined) {
    expect({ where, metric: ref.metric, builtIn: BUILT_IN_METRICS.includes(ref.metric) }).toEqual({
      where,
      metric: ref.metric,
      builtIn: true,
    });
    return;
  }
  const declared = metrics.find((m) => m.name === userMetric);
  expect({ where, metric: userMetric, declared: declared !== undefined }).toEqual({
    where,
    metric: userMetric,
    declared: true,
  });
  if (declared === undefined) return;
  for (const [label, value] of Object.entries(ref.labels)) {
    expect({ where, label, declared: declared.labels.some((l) => l.key === label) }).toEqual({
      where,
      label,
      declared: true,
    });
    if (label === 'event') expect((LOG_EVENTS as readonly string[]).includes(value)).toBe(true);
  }
  if (
    ref.promqlSuffix === '_sum' ||
    ref.promqlSuffix === '_count' ||
    ref.promqlSuffix === '_bucket'
  ) {
    expect({ where, metric: userMetric, valueType: declared.valueType }).toEqual({
      where,
      metric: userMetric,
      valueType: 'DISTRIBUTION',
    });
  }
}

/** Whether the end of `json` so far is inside a string literal. */
function insideJsonString(json: string): boolean {
  let inside = false;
  for (let i = 0; i < json.length; i++) {
    if (json[i] === '\\') i++;
    else if (json[i] === '"') inside = !inside;
  }
  return inside;
}

/** Strings anywhere under a value, e.g. every filter and query of a dashboard. */
function stringsUnder(value: unknown, keys: ReadonlySet<string>, key = ''): string[] {
  if (typeof value === 'string') return keys.has(key) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap((v) => stringsUnder(v, keys, key));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => stringsUnder(v, keys, k));
  return [];
}

describe('alerts and the dashboard read declared metrics and link the runbook', () => {
  let root: TfModule;
  let ctx: EvalContext;
  let metrics: LogMetric[];
  let policies: ResourceInstance[];

  beforeAll(async () => {
    root = await loadModule();
    ctx = { mod: root, vars: { project_id: 'dsr-taskrunner-dev' } };
    metrics = logMetricsOf(root);
    policies = instancesOf(ctx, 'google_monitoring_alert_policy');
  });

  it('names a declared metric (with declared labels) in every alert condition', () => {
    expect(policies.length).toBeGreaterThan(0);
    for (const { name: resourceName, key, body: policy, ctx } of policies) {
      const name = `${resourceName}${key === undefined ? '' : `[${key}]`}`;
      for (const condition of blocks(policy, 'conditions')) {
        const queries = [
          ...blocks(condition, 'condition_threshold').map((c) => c['filter']),
          ...blocks(condition, 'condition_absent').map((c) => c['filter']),
          ...blocks(condition, 'condition_prometheus_query_language').map((c) => c['query']),
        ].map((q) => String(evaluate(q, ctx)));
        expect({ name, queries: queries.length }).toEqual({ name, queries: 1 });
        const refs = queries.flatMap(metricRefs);
        expect({ name, refs: refs.length > 0 }).toEqual({ name, refs: true });
        for (const ref of refs) checkRef(ref, metrics, `alert ${name}`);
      }
    }
  });

  it('links every alert to a docs/runbook.md section', () => {
    const used = new Set<string>();
    for (const { name: resourceName, key, body: policy, ctx } of policies) {
      const name = `${resourceName}${key === undefined ? '' : `[${key}]`}`;
      const doc = block(policy, 'documentation');
      const content = String(evaluate(doc['content'], ctx));
      const anchors = [...content.matchAll(/docs\/runbook\.md#([a-z0-9-]+)/g)].map(
        (m) => m[1] as string,
      );
      expect({ name, anchors: anchors.length }).toEqual({ name, anchors: 1 });
      for (const a of anchors) {
        expect({ name, anchor: a, known: RUNBOOK_ANCHORS.includes(a) }).toEqual({
          name,
          anchor: a,
          known: true,
        });
        used.add(a);
      }
      for (const link of blocks(doc, 'links'))
        expect(String(evaluate(link['url'], ctx))).toContain(`docs/runbook.md#${anchors[0] ?? ''}`);
    }
    expect([...used].sort()).toEqual([...RUNBOOK_ANCHORS].sort());
    // Each anchor is a heading of docs/runbook.md (GitHub's slug of it).
    const runbook = readFileSync(join(REPO_ROOT, 'docs/runbook.md'), 'utf8');
    const slugs = [...runbook.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
      (m[1] as string)
        .trim()
        .toLowerCase()
        .replace(/[^\w\s-]/g, '')
        .replace(/\s/g, '-'),
    );
    for (const anchor of RUNBOOK_ANCHORS)
      expect({ anchor, heading: slugs.includes(anchor) }).toEqual({ anchor, heading: true });
  });

  it('raises the alerts the issue asks for', () => {
    const byMetric = (metric: string, kind: string) =>
      policies.filter(({ body, ctx }) =>
        blocks(body, 'conditions').some((c) =>
          blocks(c, kind).some((k) =>
            String(evaluate(k['filter'] ?? k['query'], ctx)).includes(metric),
          ),
        ),
      );
    const metricName = (resourceName: string) =>
      String(evaluate(resource(root, 'google_logging_metric', resourceName)['name'], ctx));
    expect(byMetric(metricName('run_outcomes'), 'condition_threshold')).toHaveLength(1);
    expect(byMetric('cloudtasks.googleapis.com/queue/depth', 'condition_threshold')).toHaveLength(
      1,
    );
    expect(byMetric('run.googleapis.com/request_count', 'condition_threshold')).toHaveLength(1);
    // The missed deadline and the early warning before it.
    const deadlines = byMetric(metricName('requests_overdue'), 'condition_threshold');
    const risks = deadlines.map(
      ({ body, ctx }) =>
        /metric\.label\.risk="(\w+)"/.exec(
          String(
            evaluate(blocks(block(body, 'conditions'), 'condition_threshold')[0]?.['filter'], ctx),
          ),
        )?.[1],
    );
    expect(risks.sort()).toEqual(['at_risk', 'overdue']);
    expect(
      byMetric(metricName('run_cost_usd'), 'condition_prometheus_query_language'),
    ).toHaveLength(1);
    // A failed batch: one alert for the batch, beside the run.failed alert of its members.
    expect(byMetric(metricName('batches_failed'), 'condition_threshold')).toHaveLength(1);
    // A request held for identity verification past VERIFICATION_ALERT_HOURS.
    expect(
      byMetric(metricName('requests_awaiting_verification'), 'condition_threshold'),
    ).toHaveLength(1);

    // Watchdog expirations that keep coming: abandoned attempts in every sliding hour.
    const [abandoned] = byMetric(metricName('instances_abandoned'), 'condition_threshold');
    const sliding =
      blocks(block(abandoned?.body ?? {}, 'conditions'), 'condition_threshold')[0] ?? {};
    const hourly = block(sliding, 'aggregations');
    expect([hourly['alignment_period'], hourly['per_series_aligner']]).toEqual([
      '3600s',
      'ALIGN_SUM',
    ]);
    for (const hours of [1, 3, 12]) {
      const c = {
        mod: root,
        vars: { project_id: 'dsr-taskrunner-dev', abandoned_alert_hours: hours },
      };
      expect(evaluate(sliding['duration'], c)).toBe(`${hours * 3600}s`);
    }

    // Dispatch missing: absent for twice the schedule interval.
    const [absent] = byMetric(metricName('dispatch_runs'), 'condition_absent');
    const condition = blocks(block(absent?.body ?? {}, 'conditions'), 'condition_absent')[0] ?? {};
    for (const vars of [{}, { dispatch_interval_minutes: 10 }]) {
      const c = { mod: root, vars: { project_id: 'dsr-taskrunner-dev', ...vars } };
      const interval = Number(evaluate('${var.dispatch_interval_minutes}', c));
      expect(evaluate(condition['duration'], c)).toBe(`${interval * 2 * 60}s`);
      expect(
        evaluate(resource(root, 'google_cloud_scheduler_job', 'dispatch')['schedule'], c),
      ).toBe(`*/${interval} * * * *`);
    }
  });

  it('renders the dashboard template with the variables Terraform passes, and shows every required tile', () => {
    const dashboard = resource(root, 'google_monitoring_dashboard', 'operations');
    const call = /^\$\{templatefile\("\$\{path\.module\}\/(.+?)", \{(.*)\}\)\}$/s.exec(
      String(dashboard['dashboard_json']),
    );
    if (call?.[1] === undefined || call[2] === undefined)
      throw new Error('dashboard_json must be templatefile(path, { ... })');
    const passed = [...call[2].matchAll(/^\s*(\w+)\s*=/gm)].map((m) => m[1] as string);
    const template = readFileSync(join(INFRA_DIR, call[1]), 'utf8');
    const placeholders = new Set(
      splitTemplate(template)
        .filter((p): p is { expr: string } => typeof p !== 'string')
        .map((p) => p.expr),
    );
    expect([...placeholders].sort()).toEqual([...passed].sort());

    // A placeholder inside a JSON string renders as text, one outside it (a threshold) as a number.
    let rendered = '';
    for (const part of splitTemplate(template)) {
      if (typeof part === 'string') rendered += part;
      else rendered += insideJsonString(rendered) ? `placeholder-${part.expr}` : '1';
    }
    const json = JSON.parse(rendered) as {
      mosaicLayout: { tiles: { widget: { title: string } }[] };
    };
    const titles = json.mosaicLayout.tiles.map((t) => t.widget.title);
    for (const tile of REQUIRED_TILES)
      expect({ tile: tile.source, found: titles.some((t) => tile.test(t)) }).toEqual({
        tile: tile.source,
        found: true,
      });

    const queries = stringsUnder(json, new Set(['filter', 'prometheusQuery']));
    const refs = queries.flatMap(metricRefs);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) checkRef(ref, metrics, 'dashboard');
    // Logs panels filter on events the code writes.
    for (const q of queries) {
      for (const m of q.matchAll(/jsonPayload\.event=(?:"([^"]+)"|\(([^)]*)\))/g)) {
        const events =
          m[1] !== undefined
            ? [m[1]]
            : (m[2] ?? '').split(/\s+OR\s+/).map((e) => e.trim().replace(/^"|"$/g, ''));
        for (const event of events) expect(LOG_EVENTS).toContain(event);
      }
    }
  });

  it('makes the dashboard depend on every log-based metric it reads', () => {
    const dependsOn = resource(root, 'google_monitoring_dashboard', 'operations')[
      'depends_on'
    ] as string[];
    expect(dependsOn.sort()).toEqual(
      resourcesOf(root, 'google_logging_metric')
        .map(([n]) => `\${google_logging_metric.${n}}`)
        .sort(),
    );
  });
});
