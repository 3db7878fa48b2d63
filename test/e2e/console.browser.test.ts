import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack';
import { testProjectId } from '../helpers/project-id';
import type { RequestView } from '../../src/app/requests';
import { createCsrfTokens } from '../../src/console/csrf';
import { call } from '../helpers/http';
import { waitFor } from '../helpers/wait-for';
import {
  ARTIFACTS,
  contextAs,
  launchChromium,
  VIEWPORTS,
  type ChromiumHandle,
} from './support/console-browser';

/** The stack signs console forms with this key, so the test can mint a token for anyone. */
const CSRF_SECRET = 'console-e2e-csrf-secret-0123456789abcdef';
const APPROVER = 'approver@localhost';
const AUDITOR = 'auditor@localhost';
const DEVELOPER = 'developer@localhost';
/** Markup planted in a task description and a request note: it must stay text. */
const PLANTED = `<script>window.__planted = 'script'</script><img src="x" onerror="window.__planted = 'img'; alert(1)">`;

const example = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '../../examples', name), 'utf8')) as Record<
    string,
    unknown
  >;

/** A deletion of its own subject (so no two tests share one), filed by developer@localhost. */
const deletion = (externalId: string, notes?: string) => ({
  ...example('deletion-request.json'),
  externalId,
  subject: {
    email: `${externalId.toLowerCase()}@example.com`,
    userId: `u-${externalId}`,
    // The GA task (which needs an approval) runs only for a subject with a GA client id.
    gaClientId: `${externalId.length}.${Date.now()}`,
  },
  ...(notes === undefined ? {} : { notes }),
});

describe('the web console in Chromium', () => {
  let stack: LocalStack;
  let chromium: ChromiumHandle | undefined;
  let browser: Browser;
  const api = <T = RequestView>(
    method: string,
    path: string,
    body?: unknown,
    init?: Parameters<typeof call>[4],
  ) => call<T>(stack.apiUrl, method, path, body, init);
  const file = async (body: Record<string, unknown>) => {
    const filed = await api('POST', '/requests', body);
    expect(filed.status).toBe(201);
    return filed.body;
  };
  const pageAs = async (
    identity: string,
    viewport: { width: number; height: number } = VIEWPORTS.desktop,
  ): Promise<Page> => {
    const context = await contextAs(browser, identity, viewport);
    const page = await context.newPage();
    // A dialog would mean planted script ran: fail loudly instead of letting it block.
    page.on('dialog', (dialog) => {
      throw new Error(`unexpected ${dialog.type()} dialog: ${dialog.message()}`);
    });
    return page;
  };
  const ledgerLength = async (id: string) =>
    (await api<{ ledger: { entries: unknown[] } }>('GET', `/requests/${id}/evidence`)).body.ledger
      .entries.length;

  beforeAll(async () => {
    [stack, chromium] = await Promise.all([
      startLocalStack({
        projectId: testProjectId('console'),
        apiPort: 0,
        dispatchIntervalMs: 1000,
        env: { CONSOLE_CSRF_SECRET: CSRF_SECRET },
      }),
      launchChromium(),
    ]);
    browser = chromium.browser;
  }, 120_000);
  afterAll(async () => {
    const step = async (what: string, stop: () => Promise<unknown>) => {
      const started = Date.now();
      process.stderr.write(`console e2e: ${what}\n`);
      await stop();
      const took = Date.now() - started;
      if (took > 10_000) process.stderr.write(`console e2e: ${what} took ${took} ms\n`);
    };
    await step('closing the browser', async () => chromium?.stop());
    await step('stopping the stack', async () => stack?.stop());
  }, 180_000);

  it('shows a request filed through the API, approves it in the console, and it completes', async () => {
    const filed = await file(deletion('CONSOLE-APPROVE'));
    const page = await pageAs(APPROVER);
    await page.goto(`${stack.apiUrl}/console/requests`);
    const row = page.locator(`tr[data-request-id="${filed.id}"]`);
    await expect(row.textContent()).resolves.toContain('CONSOLE-APPROVE');
    await expect(row.textContent()).resolves.toMatch(/on time\s+\d+ days left/);

    await page.getByRole('link', { name: 'CONSOLE-APPROVE' }).click();
    await page.getByLabel('I have checked this request and approve it').check();
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(/\?done=approved$/);
    await expect(page.getByRole('status').first().textContent()).resolves.toContain('Approved.');

    // Watch it complete: the page is plain HTML, so reload it until the status says so.
    await waitFor(
      async () => {
        await page.reload();
        return page.locator('dl.facts .tag').first().textContent();
      },
      (status) => status === 'completed',
      { timeoutMs: 180_000, intervalMs: 1000, what: 'the console to show the request completed' },
    );
    const view = (await api('GET', `/requests/${filed.id}`)).body;
    expect(view.status).toBe('completed');
    const ga = view.instances.find((i) => i.taskId === 'ga-user-deletion');
    expect(ga?.approvals?.map((a) => a.actor)).toEqual([APPROVER]);
    // The activity trail is the evidence: an approver does not read it, an auditor does.
    await expect(page.locator('ol.timeline').count()).resolves.toBe(0);
    const auditor = await pageAs(AUDITOR);
    await auditor.goto(`${stack.apiUrl}/console/requests/${filed.id}`);
    const trail = await auditor.locator('ol.timeline').textContent();
    expect(trail).toContain('Approved by approver@localhost (ga-user-deletion)');
    expect(trail).toMatch(/Run of ga-user-deletion \(attempt 1\): succeeded/);
    await expect(auditor.locator('#timeline + p').textContent()).resolves.toContain('verified');
  }, 240_000);

  it('denies a request with a reason and a note', async () => {
    const filed = await file(deletion('CONSOLE-DENY'));
    const page = await pageAs(APPROVER);
    await page.goto(`${stack.apiUrl}/console/requests/${filed.id}`);
    await page.getByLabel('Reason').first().selectOption('exempt');
    await page.getByLabel('Note (kept in the evidence; no identifiers)').fill('Exempt: legal hold');
    await page.getByLabel('Deny this request: what has not started is cancelled').check();
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL(/\?done=denied$/);
    const view = (await api('GET', `/requests/${filed.id}`)).body;
    expect(view.status).toBe('denied');
    expect(view.denial).toMatchObject({
      reason: 'exempt',
      note: 'Exempt: legal hold',
      by: APPROVER,
    });
    await expect(page.locator('dl.facts').textContent()).resolves.toContain('exempt by');
  });

  it('shows an auditor no action, and refuses their forged POST (403) even with a valid token', async () => {
    const filed = await file(deletion('CONSOLE-AUDITOR'));
    const page = await pageAs(AUDITOR);
    await page.goto(`${stack.apiUrl}/console/requests/${filed.id}`);
    await expect(page.locator('form[method="post"]').count()).resolves.toBe(0);
    await expect(page.locator('#actions + *').textContent()).resolves.toContain(
      'No action is open to your role',
    );
    await page.goto(`${stack.apiUrl}/console/tasks`);
    await expect(page.getByRole('link', { name: 'Register a task' }).count()).resolves.toBe(0);

    const before = await ledgerLength(filed.id);
    const token = createCsrfTokens(CSRF_SECRET).issue(AUDITOR, new Date());
    for (const action of ['approve', 'deny', 'cancel']) {
      const forged = await page.request.post(
        `${stack.apiUrl}/console/requests/${filed.id}/${action}`,
        { form: { csrf: token, confirm: 'yes', reason: 'other' }, maxRedirects: 0 },
      );
      expect({ action, status: forged.status() }).toEqual({ action, status: 403 });
      expect(forged.headers()['content-type']).toMatch(/^text\/html/);
      expect(await forged.text()).toContain('needs the role');
    }
    expect(await ledgerLength(filed.id)).toBe(before);
    expect((await api('GET', `/requests/${filed.id}`)).body.denial).toBeUndefined();
  });

  it('refuses a console POST without a valid CSRF token (403), and writes nothing', async () => {
    const filed = await file(deletion('CONSOLE-CSRF'));
    const page = await pageAs(APPROVER);
    const url = `${stack.apiUrl}/console/requests/${filed.id}/deny`;
    const before = await ledgerLength(filed.id);
    const auditorToken = createCsrfTokens(CSRF_SECRET).issue(AUDITOR, new Date());
    const attempts: [string, Record<string, string>, Record<string, string>][] = [
      ['no token', { confirm: 'yes', reason: 'other' }, {}],
      ['a bad token', { csrf: 'x', confirm: 'yes', reason: 'other' }, {}],
      ["another identity's token", { csrf: auditorToken, confirm: 'yes', reason: 'other' }, {}],
      [
        'a valid token sent from another site',
        {
          csrf: createCsrfTokens(CSRF_SECRET).issue(APPROVER, new Date()),
          confirm: 'yes',
          reason: 'other',
        },
        { 'sec-fetch-site': 'cross-site' },
      ],
    ];
    for (const [name, form, headers] of attempts) {
      const answer = await page.request.post(url, { form, headers, maxRedirects: 0 });
      expect({ name, status: answer.status() }).toEqual({ name, status: 403 });
      expect(answer.headers()['content-security-policy']).toContain("default-src 'none'");
    }
    expect(await ledgerLength(filed.id)).toBe(before);
    expect((await api('GET', `/requests/${filed.id}`)).body.status).not.toBe('denied');
  });

  it('keeps planted markup in a task description and a request note inert, shown as text', async () => {
    const task = await api('POST', '/tasks', {
      id: 'console-planted',
      name: 'Planted <b>name</b>',
      jobType: 'records',
      executor: 'noop',
      description: PLANTED,
      active: false,
    });
    expect(task.status).toBe(201);
    const filed = await file(deletion('CONSOLE-PLANTED', PLANTED));
    const page = await pageAs(DEVELOPER);
    for (const [path, selector] of [
      ['/console/tasks/console-planted', 'dd.description'],
      [`/console/requests/${filed.id}`, 'span.notes'],
    ] as const) {
      await page.goto(`${stack.apiUrl}${path}`);
      await expect(page.locator(selector).textContent()).resolves.toBe(PLANTED);
      await expect(page.locator(`${selector} script, ${selector} img`).count()).resolves.toBe(0);
      await expect(page.evaluate('window.__planted')).resolves.toBe(undefined);
    }
    await page.goto(`${stack.apiUrl}/console/tasks`);
    await expect(page.getByRole('link', { name: 'console-planted' }).count()).resolves.toBe(1);
    await expect(page.locator('b').count()).resolves.toBe(0);
  });

  it('takes a bulk approve on the matches of a filter, and shows the operation reaching done', async () => {
    // LGPD deletions: no other test files one, so the filter matches these alone.
    const filed = await Promise.all(
      [1, 2, 3].map((n) => file({ ...deletion(`CONSOLE-BULK-${n}`), regulation: 'lgpd' })),
    );
    const listing = `${stack.apiUrl}/console/requests?regulation=lgpd&type=deletion`;
    const gaApprovals = async () =>
      Promise.all(
        filed.map(async (r) => {
          const view = (await api('GET', `/requests/${r.id}`)).body;
          return view.instances.find((i) => i.taskId === 'ga-user-deletion')?.approvals ?? [];
        }),
      );

    // An auditor sees no bulk form; their forged POST, and one without a token, write nothing.
    const auditor = await pageAs(AUDITOR);
    await auditor.goto(listing);
    await expect(auditor.locator('tbody tr').count()).resolves.toBe(3);
    await expect(auditor.locator('form#bulk').count()).resolves.toBe(0);
    const form = {
      'filter.regulation': 'lgpd',
      'filter.type': 'deletion',
      action: 'approve',
      reason: 'forged',
      confirm: 'yes',
    };
    const auditorToken = createCsrfTokens(CSRF_SECRET).issue(AUDITOR, new Date());
    const forged = await auditor.request.post(`${stack.apiUrl}/console/operations`, {
      form: { ...form, csrf: auditorToken },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    const page = await pageAs(APPROVER);
    const tokenless = await page.request.post(`${stack.apiUrl}/console/operations`, {
      form,
      maxRedirects: 0,
    });
    expect(tokenless.status()).toBe(403);

    // Every status and no other criterion: the API's 400, shown on the page beside the form.
    await page.goto(`${stack.apiUrl}/console/requests?status=all`);
    await page.getByLabel('Reason (required, recorded with the operation)').fill('too broad');
    await page.getByLabel('Take this action on every matching request').check();
    const refused = page.waitForResponse((r) => r.url().endsWith('/console/operations'));
    await page.getByRole('button', { name: 'Start the bulk action' }).click();
    expect((await refused).status()).toBe(400);
    await expect(page.locator('#bulk-refusal').textContent()).resolves.toContain(
      'name at least one criterion',
    );
    expect((await gaApprovals()).flat()).toEqual([]);

    await page.goto(listing);
    await expect(page.locator('#bulk').textContent()).resolves.toMatch(/regulation\s+lgpd/);
    // An approver is offered approve only (retry and cancel are an operator's).
    await expect(
      page
        .getByLabel('Action', { exact: true })
        .locator('option')
        .evaluateAll((o) => o.map((e) => e.getAttribute('value'))),
    ).resolves.toEqual(['approve']);
    await page.getByLabel('Reason (required, recorded with the operation)').fill('batch reviewed');
    await page.getByLabel('Take this action on every matching request').check();
    await page.getByRole('button', { name: 'Start the bulk action' }).click();
    await page.waitForURL(/\/console\/operations\/op-[0-9a-f]{32}$/);
    await expect(page.locator('h1').textContent()).resolves.toBe('Bulk approve');
    await waitFor(
      async () => {
        await page.reload();
        return page.locator('#operation .tag').textContent();
      },
      (state) => state === 'done',
      { timeoutMs: 60_000, intervalMs: 1000, what: 'the bulk operation to be done' },
    );
    const count = (name: string) => page.locator(`[data-count="${name}"]`).textContent();
    await expect(count('matched')).resolves.toBe('3');
    await expect(count('succeeded')).resolves.toBe('3');
    await expect(count('failed')).resolves.toBe('0');
    await expect(page.locator('#failures + p').textContent()).resolves.toBe('None.');
    await page.screenshot({ path: join(ARTIFACTS, 'operation-desktop.png'), fullPage: true });
    expect((await gaApprovals()).map((a) => a.map((x) => x.actor))).toEqual([
      [APPROVER],
      [APPROVER],
      [APPROVER],
    ]);
    await page.getByRole('link', { name: 'Back to the requests' }).click();
    await page.waitForURL(/\/console\/requests$/);
  }, 120_000);

  it('pauses and resumes a task from its page, with a reason', async () => {
    const task = await api('POST', '/tasks', {
      id: 'console-pause',
      name: 'Pause me',
      jobType: 'records',
      executor: 'noop',
      active: false,
    });
    expect(task.status).toBe(201);
    const page = await pageAs(DEVELOPER);
    await page.goto(`${stack.apiUrl}/console/tasks/console-pause`);
    await page.getByLabel('Reason (required)').fill('partner API down');
    await page.getByLabel('Pause this task: nothing of it starts until it is resumed').check();
    await page.getByRole('button', { name: 'Pause task' }).click();
    await page.waitForURL(/\/console\/tasks\/console-pause$/);
    await expect(page.locator('#pause + p').textContent()).resolves.toContain('partner API down');
    const paused = await api<{ paused?: { reason: string; by: string } }>(
      'GET',
      '/tasks/console-pause',
    );
    expect(paused.body.paused).toMatchObject({ reason: 'partner API down', by: DEVELOPER });
    await page.getByLabel('Resume this task: its waiting instances start again').check();
    await page.getByRole('button', { name: 'Resume task' }).click();
    await page.waitForURL(/\/console\/tasks\/console-pause$/);
    const resumed = await api<{ paused?: unknown }>('GET', '/tasks/console-pause');
    expect(resumed.body.paused).toBeUndefined();
  });

  it("runs a task's audit (dry run) from its page and shows the estimate", async () => {
    const page = await pageAs(DEVELOPER);
    await page.goto(`${stack.apiUrl}/console/tasks/warehouse-events-delete`);
    await page.getByLabel('userId', { exact: true }).fill('u-4f1c9a2e');
    await page.getByRole('button', { name: 'Run the audit' }).click();
    const result = page.locator('section[aria-labelledby="audit-result-h"]');
    await expect(result.textContent()).resolves.toMatch(/Would affect\s*\d+ rows/);
    await expect(page.getByLabel('userId', { exact: true }).inputValue()).resolves.toBe(
      'u-4f1c9a2e',
    );
  });

  it('answers every console page with a strict CSP and no-store, and its errors as HTML', async () => {
    const page = await pageAs(DEVELOPER);
    const answer = await page.goto(`${stack.apiUrl}/console/requests`);
    const headers = answer?.headers() ?? {};
    expect(headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers['cache-control']).toBe('no-store');
    const missing = await page.goto(`${stack.apiUrl}/console/requests/${'0'.repeat(32)}`);
    expect(missing?.status()).toBe(404);
    expect(missing?.headers()['content-security-policy']).toContain("default-src 'none'");
    await expect(page.locator('h1').textContent()).resolves.toContain('404');
    const bad = await page.goto(`${stack.apiUrl}/console/requests?status=bogus`);
    expect(bad?.status()).toBe(400);
    await expect(page.locator('main').textContent()).resolves.toContain('query.status');
  });

  it('refuses a cross-site form post to the JSON API, even one with an empty body', async () => {
    const filed = await file(deletion('CONSOLE-JSON-CSRF'));
    const before = await ledgerLength(filed.id);
    const asApprover = { 'x-dev-identity': APPROVER };
    const form = await api('POST', `/requests/${filed.id}/approve`, undefined, {
      headers: { ...asApprover, 'content-type': 'application/x-www-form-urlencoded' },
      raw: '',
    });
    expect(form.status).toBe(400);
    const crossSite = await api('POST', `/requests/${filed.id}/approve`, undefined, {
      headers: { ...asApprover, 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    expect(await ledgerLength(filed.id)).toBe(before);
  });

  it('renders each page at 1280×800 and 390×844, usable by keyboard, and saves a screenshot', async () => {
    const filed = await file(deletion('CONSOLE-SHOTS'));
    // Received long enough ago that the deadline is near (GDPR: a month) or gone.
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    const atRisk = await file({ ...deletion('CONSOLE-AT-RISK'), receivedAt: daysAgo(27) });
    const overdue = await file({ ...deletion('CONSOLE-OVERDUE'), receivedAt: daysAgo(40) });
    const list = await pageAs(APPROVER);
    await list.goto(`${stack.apiUrl}/console/requests`);
    const rowOf = (id: string) => list.locator(`tr[data-request-id="${id}"]`);
    await expect(rowOf(overdue.id).getAttribute('class')).resolves.toBe('overdue');
    await expect(rowOf(overdue.id).textContent()).resolves.toMatch(/overdue\s+\d+ days? late/);
    await expect(rowOf(atRisk.id).getAttribute('class')).resolves.toBe('at_risk');
    await expect(rowOf(atRisk.id).textContent()).resolves.toMatch(/at risk\s+\d+ days? left/);
    // Open requests by days left: the overdue one first.
    await expect(list.locator('tbody tr').first().getAttribute('data-request-id')).resolves.toBe(
      overdue.id,
    );
    const pages: [string, string][] = [
      ['requests', '/console/requests'],
      ['request', `/console/requests/${filed.id}`],
      ['tasks', '/console/tasks'],
      ['task', '/console/tasks/warehouse-events-delete'],
      ['task-edit', '/console/tasks/warehouse-events-delete/edit'],
      ['costs', '/console/costs'],
      ['reports', '/console/reports'],
    ];
    for (const [size, viewport] of Object.entries(VIEWPORTS)) {
      const page = await pageAs(DEVELOPER, viewport);
      for (const [name, path] of pages) {
        const answer = await page.goto(`${stack.apiUrl}${path}`);
        expect({ name, status: answer?.status() }).toEqual({ name, status: 200 });
        // The page does not scroll sideways: wide tables scroll inside their own box.
        const overflow = await page.evaluate<number>(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth',
        );
        expect({ name, size, overflow }).toEqual({ name, size, overflow: 0 });
        await page.screenshot({ path: join(ARTIFACTS, `${name}-${size}.png`), fullPage: true });
        // The first screen alone, small enough for the docs (docs/images/console-*.png).
        if (size === 'desktop') {
          await page.screenshot({ path: join(ARTIFACTS, `${name}-desktop-first-screen.png`) });
        }
      }
    }
    // The first Tab reaches the skip link, which moves focus to the main content.
    const page = await pageAs(DEVELOPER);
    await page.goto(`${stack.apiUrl}/console/requests`);
    await page.keyboard.press('Tab');
    await expect(
      page.evaluate('document.activeElement && document.activeElement.textContent'),
    ).resolves.toBe('Skip to content');
    await page.keyboard.press('Enter');
    await expect(
      page.evaluate('document.activeElement && document.activeElement.id'),
    ).resolves.toBe('main');
    // Every form control has a label.
    const unlabelled = await page.evaluate<string[]>(
      `[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter((el) => el.labels.length === 0).map((el) => el.id || el.name)`,
    );
    expect(unlabelled).toEqual([]);
  }, 120_000);
});
