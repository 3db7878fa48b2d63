import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack';
import type { RequestView } from '../../src/app/requests';
import { call } from '../helpers/http';
import {
  guardPubSubLeaks,
  pullUntil,
  startPubSubEmulator,
  type PubSubEmulator,
  type PulledMessage,
} from '../helpers/pubsub-emulator';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { waitFor } from '../helpers/wait-for';

const PROJECT = 'dsr-events-e2e';
const TOPIC = 'dsr-events';
const SUBSCRIPTION = 'e2e-ordered';
const APPROVER = { 'X-Dev-Identity': 'approver@localhost' };
const SUBJECT = { email: 'Events.Person+e2e@example.com', userId: 'u-e2e-8842' };
const NOTES = 'Call the person back on +1 555 0100';
const EXTENSION_REASON = 'Several systems hold data of E2E-PERSON';

/** The Done-when of issue 12's events: the lifecycle on the local stack, heard by a subscriber. */
describe('lifecycle events on the local stack, through a Pub/Sub outage', () => {
  let pubsub: PubSubEmulator;
  let proxy: TcpProxy;
  let stack: LocalStack;
  const logLines: string[] = [];
  const api = <T = RequestView>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => call<T>(stack.apiUrl, method, path, body, { headers });

  beforeAll(async () => {
    pubsub = await startPubSubEmulator();
    await pubsub.createTopic(PROJECT, TOPIC);
    await pubsub.createSubscription(PROJECT, TOPIC, SUBSCRIPTION, { ordering: true });
    // The functions reach Pub/Sub through a proxy the test cuts: an outage for them only.
    proxy = await startTcpProxy(pubsub.host);
    stack = await startLocalStack({
      apiPort: 0,
      projectId: PROJECT,
      dispatchIntervalMs: 2000,
      registerDemoTasks: false,
      events: { emulatorHost: proxy.host },
      onLogLine: (line) => logLines.push(line),
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
    await pubsub?.stop();
  });
  guardPubSubLeaks();

  it('files, verifies, approves, extends and completes; the subscriber hears it all, in order, without personal data', async () => {
    // One task, behind an approval, that runs for a few seconds: the request is still open
    // when it is extended right after the approval.
    const task = await api('POST', '/tasks', {
      id: 'e2e-events-slow',
      name: 'Slow deletion behind an approval',
      jobType: 'deletion',
      executor: 'demo.sleep',
      config: { ms: 6000 },
      approvalsRequired: 1,
    });
    expect(task.status).toBe(201);

    const filed = await api('POST', '/requests', {
      type: 'deletion',
      subject: SUBJECT,
      regulation: 'gdpr',
      externalId: 'E2E-EVENTS-1',
      notes: NOTES,
      verification: 'pending',
    });
    expect(filed.status).toBe(201);
    const id = filed.body.id;
    expect(filed.body.status).toBe('awaiting_verification');

    const verified = await api(
      'POST',
      `/requests/${id}/verify`,
      { method: 'document_check' },
      APPROVER,
    );
    expect(verified.status).toBe(200);
    const before = await pullUntil(
      pubsub,
      PROJECT,
      SUBSCRIPTION,
      (m) => typesOf(m).includes('request.verified'),
      { timeoutMs: 30_000, what: 'request.filed and request.verified' },
    );

    // Pub/Sub goes away for the functions: approve and extend meanwhile.
    await proxy.cut();
    const approved = await api('POST', `/requests/${id}/approve`, {}, APPROVER);
    expect(approved.status).toBe(200);
    const extended = await api(
      'POST',
      `/requests/${id}/extend`,
      { reason: EXTENSION_REASON },
      APPROVER,
    );
    expect(extended.status).toBe(200);
    expect(extended.body.extension).toBeDefined();
    // Dispatch tries, fails, and keeps the events: its backlog line says what waits.
    const mark = logLines.length;
    await waitFor(
      () =>
        logLines
          .slice(mark)
          .map(backlogOf)
          .find((b) => b !== undefined && b.failed > 0),
      (b) => b !== undefined,
      { timeoutMs: 60_000, what: 'a dispatch run to fail to publish during the outage' },
    );
    const outage = await pullUntil(pubsub, PROJECT, SUBSCRIPTION, () => true);
    expect(typesOf(outage)).toEqual([]);
    await proxy.restore();

    await waitFor(
      () => api('GET', `/requests/${id}`),
      (r) => r.body.status === 'completed',
      { timeoutMs: 60_000, what: `request ${id} to complete` },
    );
    const after = await pullUntil(
      pubsub,
      PROJECT,
      SUBSCRIPTION,
      (m) => typesOf(m).includes('request.completed'),
      { timeoutMs: 60_000, what: 'the events held back by the outage, and request.completed' },
    );

    const messages = firstOfEach([...before, ...after]);
    expect(typesOf(messages)).toEqual([
      'request.filed',
      'request.verified',
      'request.approved',
      'request.extended',
      'request.completed',
    ]);
    for (const m of messages) {
      expect(m.orderingKey).toBe(id);
      const { 'ce-type': type, 'ce-id': ceId, 'ce-time': time, ...fixed } = m.attributes;
      expect(fixed).toEqual({
        'ce-specversion': '1.0',
        'ce-source': `//dsr-taskrunner/${PROJECT}`,
        'ce-subject': id,
        'content-type': 'application/json',
      });
      expect(type).toMatch(/^dev\.dsr-taskrunner\.request\.[a-z_]+$/);
      expect(ceId).toMatch(/^[0-9a-f]{32}$/);
      expect(Number.isNaN(Date.parse(time ?? ''))).toBe(false);
      expect(JSON.parse(m.data)).toMatchObject({ requestId: id, externalId: 'E2E-EVENTS-1' });
    }
    const data = (type: string) =>
      JSON.parse(
        messages.find((m) => m.attributes['ce-type']?.endsWith(type))?.data ?? '{}',
      ) as Record<string, unknown>;
    expect(data('request.extended')).toMatchObject({
      previousDueAt: filed.body.dueAt,
      dueAt: extended.body.dueAt,
    });
    expect(data('request.completed')).toMatchObject({
      status: 'completed',
      counts: { succeeded: 1 },
    });

    // No personal data in any message, duplicates included: not the subject, nor free text.
    const forbidden = [
      ...Object.values(SUBJECT),
      SUBJECT.email.toLowerCase(),
      'u-e2e',
      '555 0100',
      'E2E-PERSON',
      'approver@localhost',
      'developer@localhost',
    ].map((v) => v.toLowerCase());
    for (const m of [...before, ...after]) {
      const text = `${m.data} ${JSON.stringify(m.attributes)}`.toLowerCase();
      for (const value of forbidden)
        expect({ value, found: text.includes(value) }).toEqual({ value, found: false });
    }
  }, 240_000); // its waits allow up to 30 + 60 + 60 + 60 s on a loaded machine
});

/** A dispatch run's events.outbox_backlog line, parsed. */
function backlogOf(line: string): { failed: number; oldestPendingSeconds: number } | undefined {
  if (!line.includes('"events.outbox_backlog"')) return undefined;
  try {
    return JSON.parse(line) as { failed: number; oldestPendingSeconds: number };
  } catch {
    return undefined;
  }
}

function typesOf(messages: readonly PulledMessage[]): string[] {
  return messages.map((m) => (m.attributes['ce-type'] ?? '').replace('dev.dsr-taskrunner.', ''));
}

/** What a subscriber that deduplicates by ce-id keeps: the first delivery of each event. */
function firstOfEach(messages: readonly PulledMessage[]): PulledMessage[] {
  const seen = new Set<string>();
  return messages.filter((m) => {
    const ceId = m.attributes['ce-id'] ?? '';
    if (seen.has(ceId)) return false;
    seen.add(ceId);
    return true;
  });
}
