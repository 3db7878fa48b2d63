import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, Status, type Harness } from './fixture';
import { callGrpc, params, RECORDED_CASES, restRequest, runSetup } from './recorded-cases';

/**
 * Every error case recorded from the real Cloud Tasks v2 service (code, message and error
 * details, word for word, in service-errors.golden.json): the emulator must answer the same,
 * through the official client over gRPC and through the REST surface gcloud uses.
 */
interface Golden {
  name: string;
  rpc: string;
  /** The recording's code name, e.g. NotFound; OK when the call was accepted. */
  code: string;
  /** The message; `{queue_path}` stands for the request's queue. */
  template: string;
  details?: Array<Record<string, unknown>>;
}
const golden = JSON.parse(
  readFileSync(join(__dirname, '../../fixtures/cloud-tasks/service-errors.golden.json'), 'utf8'),
) as Golden[];

/** NotFound -> NOT_FOUND, the google.rpc.Code name. */
const statusName = (code: string): string =>
  code.replace(/(?<=[a-z])(?=[A-Z])/g, '_').toUpperCase();
const HTTP_STATUS: Record<string, number> = {
  OK: 200,
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
};
const withoutType = (detail: Record<string, unknown>) => {
  const { '@type': _type, ...fields } = detail;
  return fields;
};

describe('Cloud Tasks emulator: errors as the service records them', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());

  // One case cannot be put over REST: its parent is a path segment of the URL, and a parent
  // outside projects/ matches no route (recorded-cases.ts says which and why).
  const overRest = golden
    .map((g, i) => [g.name, g, i] as const)
    .filter(([name]) => RECORDED_CASES[name]?.(params('x')).notOverRest === undefined);

  it('has a way to reproduce every recorded case, and no case the recordings lack', () => {
    expect(Object.keys(RECORDED_CASES).sort()).toEqual(golden.map((g) => g.name).sort());
    expect(
      golden.filter((g) => !overRest.some(([name]) => name === g.name)).map((g) => g.name),
    ).toEqual(['queue/create/invalid-parent']);
  });

  it.each(golden.map((g, i) => [g.name, g, i] as const))(
    '%s over gRPC, through the official client: same code, message and details',
    async (_name, g, i) => {
      const p = params(`grpc-${i}`);
      const recorded = RECORDED_CASES[g.name]?.(p);
      if (recorded === undefined) throw new Error(`no way to reproduce ${g.name}`);
      await runSetup(h.client, p, recorded.setup);
      const outcome = await callGrpc(h.client, recorded.invoke).then(
        () => ({ code: Status.OK, message: '' }),
        (err: { code?: number; details?: string; statusDetails?: unknown[] }) => ({
          code: err.code,
          message: err.details ?? '',
          ...(err.statusDetails
            ? { details: JSON.parse(JSON.stringify(err.statusDetails)) as unknown }
            : {}),
        }),
      );
      expect(outcome).toEqual({
        code: Status[statusName(g.code) as keyof typeof Status],
        message: g.template.replaceAll('{queue_path}', p.queue),
        ...(g.details ? { details: g.details.map(withoutType) } : {}),
      });
    },
  );

  it.each(overRest)(
    '%s over REST: the same code, message and details in the Google error envelope',
    async (_name, g, i) => {
      const p = params(`rest-${i}`);
      const recorded = RECORDED_CASES[g.name]?.(p);
      if (recorded === undefined) throw new Error(`no way to reproduce ${g.name}`);
      await runSetup(h.client, p, recorded.setup);
      const { method, path, body } = restRequest(recorded.invoke);
      const res = await fetch(`http://127.0.0.1:${h.emulator.httpPort}${path}`, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const status = statusName(g.code);
      const json = (await res.json()) as Record<string, unknown>;
      expect({ status: res.status, error: json['error'] }).toEqual({
        status: HTTP_STATUS[status],
        error:
          status === 'OK'
            ? undefined
            : {
                code: HTTP_STATUS[status],
                message: g.template.replaceAll('{queue_path}', p.queue),
                status,
                ...(g.details ? { details: g.details } : {}),
              },
      });
    },
  );

  it('the recorded invoke matches the RPC the recording names', () => {
    for (const g of golden) {
      expect(RECORDED_CASES[g.name]?.(params('x')).invoke.rpc).toBe(g.rpc);
    }
  });
});
