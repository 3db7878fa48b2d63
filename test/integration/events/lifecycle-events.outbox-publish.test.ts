import { createStructuredLogger } from '../../../src/adapters/cloud-logging/structured-logger';
import {
  createFirestoreEventOutbox,
  OUTBOX_COLLECTION,
} from '../../../src/adapters/firestore/event-outbox';
import {
  createFirestoreStore,
  type FirestoreStore,
} from '../../../src/adapters/firestore/firestore-store';
import {
  createPubSubClient,
  createPubSubPublisher,
} from '../../../src/adapters/pubsub/pubsub-publisher';
import { rollupRequest } from '../../../src/app/rollup';
import { publishPending, type LifecycleEventsDeps } from '../../../src/app/event-outbox';
import { ConflictError } from '../../../src/domain/errors';
import type { Request } from '../../../src/domain/model';
import type { EventOutbox } from '../../../src/ports/event-outbox';
import { firestoreForTest, type TestFirestore } from '../../helpers/firestore-emulator';
import {
  guardPubSubLeaks,
  pullUntil,
  startPubSubEmulator,
  type PubSubEmulator,
  type PulledMessage,
} from '../../helpers/pubsub-emulator';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';
import { waitFor } from '../../helpers/wait-for';
import { aRequest, aRequestWithInstances, anInstance, at } from '../firestore/fixture';

const TOPIC = 'dsr-events';
const SOURCE = '//dsr-taskrunner/events-test';
const SUBJECT = { email: 'Jane.Roe@example.org', userId: 'user-4242', phone: '+44 7700 900456' };
const subjectHash = 'a1'.repeat(32);

describe('lifecycle events: the outbox and Pub/Sub (emulators)', () => {
  let fs: TestFirestore;
  let store: FirestoreStore;
  let outbox: EventOutbox;
  let pubsub: PubSubEmulator;
  let proxy: TcpProxy;
  let events: LifecycleEventsDeps;
  let subscription = 0;
  let sub: string;
  const logLines: string[] = [];
  const log = createStructuredLogger({
    projectId: 'events-test',
    service: { name: 'test', revision: 'test' },
    write: (line) => logLines.push(line),
  });
  const clock = { now: () => new Date() };
  const publish = () => publishPending({ events, clock, log });

  beforeAll(async () => {
    fs = firestoreForTest();
    store = createFirestoreStore(fs.db, { eventSource: SOURCE });
    outbox = createFirestoreEventOutbox(fs.db);
    pubsub = await startPubSubEmulator();
    await pubsub.createTopic(fs.projectId, TOPIC);
    // The publisher reaches the emulator through a proxy the tests cut for an outage.
    proxy = await startTcpProxy(pubsub.host);
    events = {
      outbox,
      publisher: createPubSubPublisher(createPubSubClient(fs.projectId, proxy.host), TOPIC, {
        publishTimeoutMs: 3000,
      }),
    };
  });
  beforeEach(async () => {
    sub = `sub-${++subscription}`;
    await pubsub.createSubscription(fs.projectId, TOPIC, sub, { ordering: true });
  });
  afterEach(async () => {
    await proxy.restore();
    await fs.reset();
  });
  afterAll(async () => {
    await proxy?.close();
    await pubsub?.stop();
    await fs?.close();
  });
  guardPubSubLeaks();

  const outboxIds = async () =>
    (await fs.db.collection(OUTBOX_COLLECTION).get()).docs.map((d) => d.id).sort();
  const pendingTypes = async () => (await outbox.listPending(100)).map((p) => p.event.type);
  const request = (id: string, overrides: Partial<Request> = {}) =>
    aRequest(id, {
      subject: SUBJECT,
      subjectHash,
      notes: 'call Jane on +44 7700 900456',
      ...overrides,
    });

  it('writes request.filed with the request, in the same batch, and nothing when it fails', async () => {
    await store.createRequest(request('r-filed'), []);
    expect(await pendingTypes()).toEqual(['request.filed']);

    // A stray instance makes the new request's batch fail: no request, no event.
    const { instances } = aRequestWithInstances('r-atomic', 2);
    await fs.db.doc('requests/r-atomic/instances/t01').create(anInstance('r-atomic', 't01'));
    await expect(store.createRequest(request('r-atomic'), instances)).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await store.getRequest('r-atomic')).toBeNull();
    expect(await pendingTypes()).toEqual(['request.filed']);
  });

  it('writes the events of an update with it; a declined or uneventful update writes none', async () => {
    await store.createRequest(request('r-upd'), []);
    await store.updateRequest('r-upd', () => null);
    await store.updateRequest('r-upd', () => ({ counts: { running: 1 }, updatedAt: at(1) }));
    expect(await pendingTypes()).toEqual(['request.filed']);

    await store.updateRequest('r-upd', () => ({ approvedAt: at(2), updatedAt: at(2) }));
    await store.updateRequest('r-upd', () => ({
      status: 'completed_with_errors',
      completedAt: at(3),
      failedInstances: ['crm#1'],
      updatedAt: at(3),
    }));
    expect(await pendingTypes()).toEqual([
      'request.filed',
      'request.approved',
      'instance.failed',
      'request.completed_with_errors',
    ]);
    // A minimisation is a request write too, and goes through the same step (no event here).
    await store.minimiseRequest('r-upd', () => ({ minimised: true, subject: {} }));
    expect(await pendingTypes()).toHaveLength(4);
  });

  it('rollup announces each failed instance once, then the request closing with errors', async () => {
    const instances = [
      anInstance('r-roll', 'crm', { state: 'failed', series: 2 }),
      anInstance('r-roll', 'web', { state: 'running' }),
    ];
    await store.createRequest(request('r-roll'), instances);
    await rollupRequest({ store, clock, log }, 'r-roll');
    await rollupRequest({ store, clock, log }, 'r-roll');
    await store.updateInstance('r-roll', 'web', () => ({ state: 'succeeded' }));
    await rollupRequest({ store, clock, log }, 'r-roll');

    const pending = await outbox.listPending(10);
    expect(pending.map((p) => p.event.type)).toEqual([
      'request.filed',
      'instance.failed',
      'request.completed_with_errors',
    ]);
    expect(pending[1]?.event.data).toMatchObject({ taskId: 'crm', series: 2 });
    expect((await store.getRequest('r-roll'))?.failedInstances).toEqual(['crm#2']);
  });

  it('publishes in binary content mode: data JSON, ce-* attributes, ordering key the request id', async () => {
    await store.createRequest(request('r-pub', { externalId: 'EXT-9' }), []);
    const [pending] = await outbox.listPending(10);

    const summary = await publish();
    expect(summary).toMatchObject({ published: 1, failed: 0, oldestPendingSeconds: 0 });
    const [message] = await pullUntil(pubsub, fs.projectId, sub, (m) => m.length >= 1);

    expect(message?.attributes).toEqual({
      'ce-specversion': '1.0',
      'ce-type': 'dev.dsr-taskrunner.request.filed',
      'ce-source': SOURCE,
      'ce-id': pending?.event.id,
      'ce-time': at(0),
      'ce-subject': 'r-pub',
      'content-type': 'application/json',
    });
    expect(message?.orderingKey).toBe('r-pub');
    expect(JSON.parse(message?.data ?? '')).toMatchObject({
      requestId: 'r-pub',
      externalId: 'EXT-9',
      requestType: 'deletion',
      regulation: 'gdpr',
      status: 'in_progress',
    });
    expect(await outbox.listPending(10)).toEqual([]);
    expect(await outboxIds()).toEqual([pending?.event.id]);
  });

  it('keeps events pending through a Pub/Sub outage and publishes them, in order, after', async () => {
    await store.createRequest(request('r-out'), []);
    await proxy.cut();
    await store.updateRequest('r-out', () => ({ approvedAt: at(1), updatedAt: at(1) }));
    await store.createRequest(request('r-out-2'), []);

    const during = await publish();
    // One failure per request; the request's later event is held back behind its first.
    expect(during).toMatchObject({ published: 0, failed: 2, heldBack: 1 });
    expect(during.oldestPendingSeconds).toBeGreaterThanOrEqual(0);
    expect(await pendingTypes()).toHaveLength(3);
    expect(
      logLines.some((l) => l.includes('"events.outbox_backlog"') && l.includes('WARNING')),
    ).toBe(true);

    await proxy.restore();
    // The client reconnects on its own schedule: the next runs (dispatch's) publish everything.
    let published = 0;
    await waitFor(
      async () => {
        published += (await publish()).published;
        return outbox.listPending(10);
      },
      (pending) => pending.length === 0,
      { timeoutMs: 30_000, intervalMs: 200, what: 'the outbox to drain after the outage' },
    );
    expect(published).toBe(3);
    const messages = await pullUntil(pubsub, fs.projectId, sub, (m) => m.length >= 3);
    const of = (id: string) =>
      messages.filter((m) => m.attributes['ce-subject'] === id).map((m) => m.attributes['ce-type']);
    expect(of('r-out')).toEqual([
      'dev.dsr-taskrunner.request.filed',
      'dev.dsr-taskrunner.request.approved',
    ]);
    expect(of('r-out-2')).toEqual(['dev.dsr-taskrunner.request.filed']);
  });

  it('sends an event whose mark was lost again with the same ce-id', async () => {
    await store.createRequest(request('r-dup'), []);
    // The publish succeeds but marking it fails (Firestore away at that moment).
    let marks = 0;
    const flaky: LifecycleEventsDeps = {
      publisher: events.publisher,
      outbox: {
        listPending: (n) => outbox.listPending(n),
        markPublished: async (ids, when) => {
          if (marks++ === 0) throw new Error('store unavailable');
          await outbox.markPublished(ids, when);
        },
      },
    };
    const first = await publishPending({ events: flaky, clock, log });
    expect(first.published).toBe(0);
    const second = await publishPending({ events: flaky, clock, log });
    expect(second.published).toBe(1);

    const messages = await pullUntil(pubsub, fs.projectId, sub, (m) => m.length >= 2);
    expect(messages).toHaveLength(2);
    expect(messages[0]?.attributes['ce-id']).toBe(messages[1]?.attributes['ce-id']);
  });

  it('no published message carries any of the subject identifier values', async () => {
    await store.createRequest(
      request('r-pii', { subjectAsGiven: { email: ' JANE.ROE@example.org' } }),
      [],
    );
    await store.updateRequest('r-pii', () => ({
      acknowledgement: { at: at(1), by: 'staff@corp.example' },
      verification: {
        state: 'verified',
        since: at(0),
        at: at(2),
        by: 'staff@corp.example',
        method: 'called +44 7700 900456',
      },
      extension: {
        at: at(3),
        by: 'staff@corp.example',
        reason: 'Jane.Roe asked for more',
        previousDueAt: at(10),
      },
      updatedAt: at(3),
    }));
    await store.updateRequest('r-pii', () => ({
      status: 'denied',
      denial: {
        at: at(4),
        by: 'staff@corp.example',
        reason: 'other',
        note: 'user-4242 is an employee',
      },
      deadlineRisk: 'at_risk',
      updatedAt: at(4),
    }));
    await publish();
    const messages = await pullUntil(pubsub, fs.projectId, sub, (m) => m.length >= 6);
    expect(new Set(messages.map((m) => m.attributes['ce-type']))).toEqual(
      new Set(
        ['filed', 'acknowledged', 'verified', 'extended', 'denied', 'at_risk'].map(
          (t) => `dev.dsr-taskrunner.request.${t}`,
        ),
      ),
    );
    expectNoIdentifiers(messages);
  });

  function expectNoIdentifiers(messages: readonly PulledMessage[]): void {
    const forbidden = [
      ...Object.values(SUBJECT),
      ...Object.values(SUBJECT).map((v) => v.toLowerCase()),
      'JANE.ROE',
      '7700',
      '4242',
      subjectHash,
      'staff@corp.example',
    ];
    for (const message of messages) {
      const text = `${message.data}\n${JSON.stringify(message.attributes)}`.toLowerCase();
      for (const value of forbidden) expect(text).not.toContain(value.toLowerCase());
    }
  }
});
