import { LOG_EVENTS } from '../../src/ports/log-events';
import { captureBatchLogLines } from './support/batch-log-lines';
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

/** The values a metric's label or value would take, over the lines its filter selects. */
function seenIn(metrics: readonly LogMetric[], lines: readonly string[]) {
  const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return (metricName: string, path: string[]) => {
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
}

describe('log-based metrics read what the code logs', () => {
  let metrics: LogMetric[];
  /** The reconciler's scenario (code-log-lines.ts). */
  let lines: string[];
  /** Batched deletions (batch-log-lines.ts). */
  let batchLines: string[];

  beforeAll(async () => {
    metrics = logMetricsOf(await loadModule());
    lines = await captureCodeLogLines();
    batchLines = await captureBatchLogLines();
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
    expect(batchLines.length).toBeGreaterThan(0);
    expect(
      checkLogLinesAgainstMetrics(metrics, [...lines, ...batchLines], { requireMatch: 'all' }),
    ).toEqual([]);
    // Every field a metric reads, so a reviewer sees the contract in one place.
    const read = new Set(metrics.flatMap((m) => extractedFields(m).map((f) => f.path.join('.'))));
    expect([...read].sort()).toEqual(
      expect.arrayContaining([
        'jsonPayload.durationMs',
        'jsonPayload.costUsd',
        'jsonPayload.bytesBilled',
        'jsonPayload.batchMembers',
        'jsonPayload.waitMs',
        'jsonPayload.flushMs',
        'jsonPayload.bytesSaved',
      ]),
    );
  });

  it("sees the reconciler's watchdog, re-arming and per-item failures through their metrics", () => {
    const seen = seenIn(metrics, lines);
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
    // One item's failure is an error line of the dispatch service, with its stack; so is a
    // lifecycle event Pub/Sub refused.
    expect(seen('dsr_errors', ['jsonPayload', 'event'])).toEqual(
      new Set(['dispatch.item_failed', 'events.publish_failed', 'http.internal_error']),
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
    // The outbox backlog: an event pending through an outage (an age), then none (0).
    const ages = [
      ...seen('dsr_events_oldest_pending_seconds', ['jsonPayload', 'oldestPendingSeconds']),
    ];
    expect({ some: ages.some((a) => Number(a) > 0), none: ages.includes(0) }).toEqual({
      some: true,
      none: true,
    });
  });

  it('sees flushed and failed batches through their metrics', () => {
    const seen = seenIn(metrics, batchLines);
    const values = (metricName: string, field: string) =>
      [...seen(metricName, ['jsonPayload', field])] as number[];
    // A batch that filled (3 subjects, flushed at once), and one that waited out maxWaitSeconds
    // (600 s) and then for dispatch to re-arm its lost flush.
    expect(values('dsr_batch_size', 'batchMembers').sort()).toEqual([1, 3]);
    const waits = values('dsr_batch_wait_ms', 'waitMs');
    expect([Math.min(...waits), Math.max(...waits) > 600_000]).toEqual([0, true]);
    expect(values('dsr_dispatch_batches_rearmed', 'batchesRearmed')).toContain(1);
    expect(Math.min(...values('dsr_batch_flush_ms', 'flushMs'))).toBeGreaterThan(0);
    // Three subjects in one statement save two whole-table DELETEs; one subject saves nothing.
    expect(Math.max(...values('dsr_batch_bytes_saved', 'bytesSaved'))).toBeGreaterThan(0);
    expect(values('dsr_batch_bytes_saved', 'bytesSaved')).toContain(0);
    // The flush that kept failing: retried once, then the batch failed (an error line too).
    expect(seen('dsr_batches_failed', ['jsonPayload', 'attempt'])).toEqual(new Set([2]));
    expect(seen('dsr_batches_failed', ['labels', 'batchId']).size).toBe(1);
    expect(seen('dsr_errors', ['jsonPayload', 'event'])).toEqual(new Set(['batch.failed']));
    // Flush lines name their batch, not their task; every batch line names its batch (the
    // runbook finds a batch's story with labels.batchId).
    expect(seen('dsr_batch_size', ['labels', 'taskId'])).toEqual(new Set([undefined]));
    const batchEvents = batchLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => String(e['event']).startsWith('batch.'));
    expect(new Set(batchEvents.map((e) => e['event']))).toEqual(
      new Set([
        'batch.joined',
        'batch.flush_started',
        'batch.flushed',
        'batch.flush_failed',
        'batch.failed',
        'batch.rearmed',
      ]),
    );
    for (const e of batchEvents) {
      const label = readField(e, ['labels', 'batchId']);
      expect({
        event: e['event'],
        labelled: 'value' in label && typeof label.value === 'string',
      }).toEqual({
        event: e['event'],
        labelled: true,
      });
    }
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
