import { inspect } from 'node:util';
import { PermanentError, RetryableError } from '../../../src/domain/errors';
import type { ExecutorResult } from '../../../src/executors/contract';
import { createHttpRequestExecutor } from '../../../src/executors/http-request';
import { executorContext } from '../../helpers/executor-context';
import { startEchoingPartner, type EchoingPartner } from '../../helpers/echoing-partner';
import { freePort } from '../../helpers/free-port';

const SUBJECT = { email: 'jane.o+dsr@example.com', userId: 'u-7731' };
/** Every form in which the subject travels to the third party. */
const FORMS = [SUBJECT.email, encodeURIComponent(SUBJECT.email), SUBJECT.userId];

/** What one attempt came to: a result, or what it threw. */
type Answer = { result?: ExecutorResult; error?: unknown };

describe('http.request never records the subject it sends', () => {
  // Loopback partners on any port are on this test's allowlist.
  const executor = createHttpRequestExecutor(() => undefined, fetch, {
    allowedOrigins: ['http://127.0.0.1:*'],
    secretOrigins: {},
  });
  // It answers the status its path names and echoes the subject back.
  let partner: EchoingPartner;
  beforeAll(async () => {
    partner = await startEchoingPartner();
  });
  afterAll(async () => {
    await partner.stop();
  });

  const template = (status: number, port = partner.port) =>
    `http://127.0.0.1:${port}/answer/${status}/users/{{subject.email}}?uid={{ subject.userId }}`;
  /** What the executor should name the endpoint by: method, origin and path of the template. */
  const endpoint = (status: number, port = partner.port) =>
    `POST http://127.0.0.1:${port}/answer/${status}/users/{{subject.email}}`;
  const attempt = (url: string, dryRun = false): Promise<Answer> =>
    executor
      .run(
        executorContext(
          executor,
          { url, body: { email: '{{subject.email}}', id: '{{subject.userId}}' } },
          { subject: SUBJECT, dryRun },
        ),
      )
      .then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
  /** Everything of the answer that could reach a run record or a log line. */
  const recorded = (answer: Answer) => inspect(answer, { depth: 10, showHidden: true });
  const expectNoSubject = (text: string) => {
    for (const form of FORMS) expect(text).not.toContain(form);
  };

  it.each([
    [200, 'succeeded'],
    [404, 'not_found'],
  ])('answered %i: %s, naming the endpoint by its template', async (status, outcome) => {
    const before = partner.received.length;
    const answer = await attempt(template(status));
    expect(answer.result).toMatchObject({ outcome, evidence: { touched: [endpoint(status)] } });
    expect(answer.result?.message).toContain(`${endpoint(status)} answered ${status}`);
    expectNoSubject(recorded(answer));
    // The subject did travel: the URL and body were filled.
    expect(partner.received.slice(before)).toEqual([
      {
        method: 'POST',
        url: `/answer/${status}/users/${encodeURIComponent(SUBJECT.email)}?uid=${SUBJECT.userId}`,
        body: JSON.stringify({ email: SUBJECT.email, id: SUBJECT.userId }),
      },
    ]);
  });

  it.each([
    [400, 'permanent', PermanentError, 'http.400'],
    [500, 'retryable', RetryableError, 'http.500'],
  ])(
    'answered %i: %s, with the status and nothing of the answer',
    async (status, _kind, type, code) => {
      const answer = await attempt(template(status));
      expect(answer.error).toBeInstanceOf(type);
      expect(answer.error).toMatchObject({ code });
      expect((answer.error as Error).message).toContain(`${endpoint(status)} answered ${status}`);
      expectNoSubject(recorded(answer));
      expect(partner.received.at(-1)?.url).toContain(encodeURIComponent(SUBJECT.email));
    },
  );

  it('could not connect: retryable, with the network code only', async () => {
    const closed = await freePort();
    const answer = await attempt(template(200, closed));
    expect(answer.error).toBeInstanceOf(RetryableError);
    expect(answer.error).toMatchObject({ code: 'http.unreachable' });
    expect((answer.error as Error).message).toBe(
      `could not reach ${endpoint(200, closed)} (ECONNREFUSED)`,
    );
    expectNoSubject(recorded(answer));
  });

  it('a dry run reports the endpoint it would call by its template, and calls nothing', async () => {
    const before = partner.received.length;
    const answer = await attempt(template(200), true);
    expect(answer.result?.output).toEqual({ wouldCall: endpoint(200) });
    expectNoSubject(recorded(answer));
    expect(partner.received).toHaveLength(before);
  });
});
