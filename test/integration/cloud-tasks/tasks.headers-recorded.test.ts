import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCATION_PATH, queuePath, startHarness, type Harness } from './fixture';

/**
 * The headers a task reports back (CreateTask with the FULL view, GetTask BASIC and FULL), as
 * recorded from the real service in task-headers.golden.json: the given names keep their case,
 * the service adds its User-Agent, and nothing else (no Content-Type, no Content-Length) for HTTP
 * tasks. App Engine tasks are not implemented by the emulator, so only the HTTP scenarios run.
 */
interface HeaderScenario {
  name: string;
  requestType: string;
  sent: Record<string, string>;
  createFull: { headers: Record<string, string> };
  getBasic: { headers: Record<string, string> };
  getFull: { headers: Record<string, string> };
}
const golden = JSON.parse(
  readFileSync(join(__dirname, '../../fixtures/cloud-tasks/task-headers.golden.json'), 'utf8'),
) as HeaderScenario[];
const httpScenarios = golden.filter((s) => s.requestType === 'http');

describe('Cloud Tasks emulator: task headers as the service reports them', () => {
  const queue = queuePath('recorded-headers');
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.client.createQueue({ parent: LOCATION_PATH, queue: { name: queue } });
    // Paused: the tasks are only looked at, never delivered.
    await h.client.pauseQueue({ name: queue });
  });
  afterAll(() => h.stop());

  it('has the HTTP scenarios', () => {
    expect(httpScenarios.map((s) => s.name)).toEqual([
      'headers/http',
      'headers/http-no-content-type',
    ]);
  });

  it.each(httpScenarios.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    const [created] = await h.client.createTask({
      parent: queue,
      responseView: 'FULL',
      task: {
        httpRequest: {
          url: 'https://example.com/',
          headers: scenario.sent,
          body: Buffer.from('{"hello":"world"}'),
        },
      },
    });
    const name = created.name ?? '';
    const [basic] = await h.client.getTask({ name, responseView: 'BASIC' });
    const [full] = await h.client.getTask({ name, responseView: 'FULL' });
    const rest = (await (
      await fetch(`http://127.0.0.1:${h.emulator.httpPort}/v2/${name}?responseView=FULL`)
    ).json()) as { httpRequest?: { headers?: Record<string, string> } };
    expect({
      createFull: created.httpRequest?.headers,
      getBasic: basic.httpRequest?.headers,
      getFull: full.httpRequest?.headers,
      restGetFull: rest.httpRequest?.headers,
    }).toEqual({
      createFull: scenario.createFull.headers,
      getBasic: scenario.getBasic.headers,
      getFull: scenario.getFull.headers,
      restGetFull: scenario.getFull.headers,
    });
  });

  it("replaces a task's own User-Agent with the service's, whatever its case", async () => {
    const [created] = await h.client.createTask({
      parent: queue,
      task: { httpRequest: { url: 'https://example.com/', headers: { 'user-agent': 'mine' } } },
    });
    expect(created.httpRequest?.headers).toEqual({ 'User-Agent': 'Google-Cloud-Tasks' });
  });
});
