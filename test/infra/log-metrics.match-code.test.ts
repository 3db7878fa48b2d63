import { LOG_EVENTS } from '../../src/ports/log-events';
import { captureCodeLogLines } from './support/code-log-lines';
import {
  checkLogLinesAgainstMetrics,
  eventsOf,
  extractedFields,
  filterMatches,
  logMetricsOf,
  parseLogFilter,
  readField,
  type LogMetric,
} from './support/log-metrics';
import { loadModule } from './support/terraform';

describe('log-based metrics read what the code logs', () => {
  let metrics: LogMetric[];
  let lines: string[];

  beforeAll(async () => {
    metrics = logMetricsOf(await loadModule());
    lines = await captureCodeLogLines();
  });

  it('declares metrics', () => {
    expect(metrics.length).toBeGreaterThan(0);
  });

  it('filters every metric on the gen2 functions resource type and on events or error lines the code writes', () => {
    for (const metric of metrics) {
      const comparisons = parseLogFilter(metric.filter);
      const resourceType = comparisons.find((c) => c.path.join('.') === 'resource.type');
      expect({ metric: metric.name, resourceType: resourceType?.values }).toEqual({
        metric: metric.name,
        resourceType: ['cloud_run_revision'],
      });
      const events = eventsOf(metric.filter);
      for (const event of events)
        expect({
          metric: metric.name,
          event,
          known: (LOG_EVENTS as readonly string[]).includes(event),
        }).toMatchObject({ known: true });
      const selectsErrors = comparisons.some((c) => c.path.join('.') === 'jsonPayload.@type');
      expect({ metric: metric.name, selects: events.length > 0 || selectsErrors }).toEqual({
        metric: metric.name,
        selects: true,
      });
    }
  });

  it('declares every label_extractors key in metric_descriptor.labels, and extracts every declared label', () => {
    for (const metric of metrics) {
      expect({
        metric: metric.name,
        extracted: Object.keys(metric.labelExtractors).sort(),
      }).toEqual({
        metric: metric.name,
        extracted: metric.labels.map((l) => l.key).sort(),
      });
    }
  });

  it('extracts a value exactly for distributions', () => {
    for (const metric of metrics) {
      expect({ metric: metric.name, hasValue: metric.valueExtractor !== undefined }).toEqual({
        metric: metric.name,
        hasValue: metric.valueType === 'DISTRIBUTION',
      });
    }
  });

  it('finds every extracted field, with its declared type, in lines the real code path logs', () => {
    expect(lines.length).toBeGreaterThan(0);
    expect(checkLogLinesAgainstMetrics(metrics, lines, { requireMatch: 'all' })).toEqual([]);
    // Every field a metric reads, so a reviewer sees the contract in one place.
    const read = new Set(metrics.flatMap((m) => extractedFields(m).map((f) => f.path.join('.'))));
    expect([...read].sort()).toEqual(
      expect.arrayContaining([
        'jsonPayload.durationMs',
        'jsonPayload.costUsd',
        'jsonPayload.bytesBilled',
      ]),
    );
  });

  it("sees the reconciler's watchdog, re-arming and per-item failures through their metrics", () => {
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    /** The values a metric's label or value would take, over the lines its filter selects. */
    const seen = (metricName: string, path: string[]) => {
      const metric = metrics.find((m) => m.name === metricName);
      if (metric === undefined) throw new Error(`no metric ${metricName}`);
      const comparisons = parseLogFilter(metric.filter);
      return new Set(
        entries
          .filter((e) => filterMatches(comparisons, e))
          .map((e) => readField(e, path))
          .map((f) => ('value' in f ? f.value : undefined)),
      );
    };
    // Abandoned attempts: by the watchdog's own counter, and as run outcomes (retried or final).
    expect(seen('dsr_instances_abandoned', ['labels', 'taskId'])).toEqual(
      new Set(['slow-export', 'slow-once']),
    );
    expect(seen('dsr_run_outcomes', ['jsonPayload', 'outcome'])).toEqual(
      new Set(['succeeded', 'failed', 'abandoned']),
    );
    expect(seen('dsr_run_outcomes', ['jsonPayload', 'event'])).toEqual(
      new Set(['run.finished', 'run.failed']),
    );
    expect(seen('dsr_instances_rearmed', ['jsonPayload', 'reason'])).toEqual(
      new Set(['parked', 'lost_task']),
    );
    // One item's failure is an error line of the dispatch service, with its stack.
    expect(seen('dsr_errors', ['jsonPayload', 'event'])).toEqual(
      new Set(['dispatch.item_failed', 'http.internal_error']),
    );
    expect(seen('dsr_errors', ['jsonPayload', 'serviceContext', 'service'])).toEqual(
      new Set(['dispatch', 'api']),
    );
    // Each dispatch.finished counter is non-zero in some run, so its distribution is exercised.
    for (const field of ['expired', 'rearmed', 'itemsFailed', 'overdue', 'atRisk']) {
      const values = [...seen('dsr_dispatch_runs', ['jsonPayload', field])] as number[];
      expect({ field, max: Math.max(...values) > 0 }).toEqual({ field, max: true });
    }
    expect(seen('dsr_dispatch_runs', ['jsonPayload', 'budgetExhausted'])).toEqual(new Set([false]));
  });

  it('reports a field that is missing or has the wrong type', () => {
    const metric: LogMetric = {
      resourceName: 'probe',
      name: 'probe',
      filter: 'resource.type="cloud_run_revision" AND jsonPayload.event="run.finished"',
      valueType: 'DISTRIBUTION',
      valueExtractor: 'EXTRACT(jsonPayload.durationMs)',
      labels: [{ key: 'task_id', valueType: 'STRING' }],
      labelExtractors: { task_id: 'EXTRACT(labels.taskId)' },
    };
    const problems = checkLogLinesAgainstMetrics(
      [metric],
      [
        JSON.stringify({
          event: 'run.finished',
          durationMs: '12',
          'logging.googleapis.com/labels': { taskId: 't' },
        }),
        JSON.stringify({ event: 'run.finished', durationMs: 12 }),
        'not json',
      ],
      { requireMatch: 'all' },
    );
    expect(problems).toEqual([
      expect.stringContaining('expected number but the run.finished line has "12"'),
      expect.stringContaining('label task_id reads labels.taskId, expected string'),
    ]);
    expect(checkLogLinesAgainstMetrics([metric], [], { requireMatch: 'all' })).toEqual([
      'probe: no captured line matches its filter',
    ]);
  });
});
