import {
  createStructuredLogger,
  parseTraceHeaders,
} from '../../../src/adapters/cloud-logging/structured-logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createStructuredLogger({
    projectId: 'p1',
    service: { name: 'api', revision: 'api-001' },
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
  });
  return { lines, log };
}

describe('structured logger', () => {
  it('writes Cloud Logging fields, labels and trace', () => {
    const { lines, log } = capture();
    log
      .child({
        labels: { requestId: 'r1', taskId: 't1' },
        trace: 'a'.repeat(32),
        spanId: '00000000000000ff',
      })
      .info('run.finished', 'done', { durationMs: 12 });
    expect(lines[0]).toMatchObject({
      severity: 'INFO',
      event: 'run.finished',
      message: 'done',
      durationMs: 12,
      'logging.googleapis.com/labels': { requestId: 'r1', taskId: 't1' },
      'logging.googleapis.com/trace': `projects/p1/traces/${'a'.repeat(32)}`,
      'logging.googleapis.com/spanId': '00000000000000ff',
    });
  });

  it('gives errors what Error Reporting needs', () => {
    const { lines, log } = capture();
    log.error('http.internal_error', 'boom', new Error('kaput'));
    expect(lines[0]).toMatchObject({
      severity: 'ERROR',
      '@type': 'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent',
      serviceContext: { service: 'api', version: 'api-001' },
    });
    expect(String(lines[0]?.['stack_trace'])).toContain('Error: kaput');
  });
});

describe('parseTraceHeaders', () => {
  it('reads traceparent', () => {
    expect(parseTraceHeaders({ traceparent: `00-${'b'.repeat(32)}-${'c'.repeat(16)}-01` })).toEqual(
      {
        trace: 'b'.repeat(32),
        spanId: 'c'.repeat(16),
      },
    );
  });
  it('falls back to X-Cloud-Trace-Context with a decimal span written as hex', () => {
    expect(parseTraceHeaders({ 'x-cloud-trace-context': `${'d'.repeat(32)}/255;o=1` })).toEqual({
      trace: 'd'.repeat(32),
      spanId: '00000000000000ff',
    });
  });
  it('ignores garbage', () => {
    expect(parseTraceHeaders({ traceparent: 'nope' })).toBeUndefined();
  });
});
