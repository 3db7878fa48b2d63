import { createStructuredLogger } from '../../../src/adapters/cloud-logging/structured-logger';

const EMAIL = 'jane.o+dsr@example.com';

function capture() {
  const lines: string[] = [];
  const log = createStructuredLogger({
    projectId: 'p1',
    service: { name: 'run-task', revision: 'run-task-001' },
    write: (l) => lines.push(l),
  });
  return { lines, log };
}

describe('structured logger: a child bound to a subject', () => {
  it('redacts its values from the message, fields and errors, in it and its children', () => {
    const { lines, log } = capture();
    const run = log
      .child({ labels: { requestId: 'r1' }, redact: { email: EMAIL } })
      .child({ labels: { runId: 'u-1' }, redact: { userId: 'u-1' } });
    run.info('run.finished', `POST /users/${encodeURIComponent(EMAIL)} answered 400`, {
      attempt: 1,
      touched: [`https://x.example/${EMAIL}`],
      nested: { owner: 'u-1', when: new Date('2030-01-01T00:00:00Z') },
    });
    run.error('http.internal_error', 'boom', new Error(`no user ${EMAIL}`));

    const [finished, failed] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(finished).toMatchObject({
      message: 'POST /users/[redacted:email] answered 400',
      event: 'run.finished',
      attempt: 1,
      touched: ['https://x.example/[redacted:email]'],
      nested: { owner: '[redacted:userId]', when: '2030-01-01T00:00:00.000Z' },
      // Labels are ours, not the subject's: left as they are.
      'logging.googleapis.com/labels': { requestId: 'r1', runId: 'u-1' },
    });
    expect(failed?.['message']).toBe('boom: no user [redacted:email]');
    expect(failed?.['stack_trace']).toContain('Error: no user [redacted:email]');
    expect(lines.join('\n')).not.toContain(EMAIL);
    expect(lines.join('\n')).not.toContain(encodeURIComponent(EMAIL));
  });

  it('leaves lines of loggers without a subject alone', () => {
    const { lines, log } = capture();
    log.child({ labels: { requestId: 'r1' } }).info('request.filed', `filed for ${EMAIL}`);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ message: `filed for ${EMAIL}` });
  });
});
