import { reportMetrics, type Metrics } from '../../app/reports';
import { REGULATIONS } from '../../domain/model';
import type { HttpResponse } from '../../http/types';
import { markup, query as qs, type Html } from '../html';
import { field, htmlResponse, page, select } from '../layout';
import type { ConsoleCall } from '../router';

/**
 * `GET /console/reports?year=&regulation=`: the §7102 metrics of a year as a table, with the
 * download links of the API's CSV reports (the same identity reads them).
 */
export async function reportsPage(call: ConsoleCall): Promise<HttpResponse> {
  const { ctx, viewer, req } = call;
  const zoneYear = ctx.deps.clock.now().getUTCFullYear();
  const year =
    typeof req.query['year'] === 'string' && req.query['year'] !== ''
      ? req.query['year']
      : String(zoneYear);
  const regulation =
    typeof req.query['regulation'] === 'string' && req.query['regulation'] !== ''
      ? req.query['regulation']
      : undefined;
  // The use case checks both values (a bad one is a 400 naming it, as in the API).
  const { metrics } = await reportMetrics(
    ctx.deps,
    { year, format: 'json', ...(regulation === undefined ? {} : { regulation }) },
    undefined,
    viewer,
  );
  const nextYear = String(Number(year) + 1);
  return htmlResponse(
    page({
      title: 'Reports',
      section: 'reports',
      viewer,
      body: markup` <form
          class="filters"
          method="get"
          action="/console/reports"
          aria-label="Choose the report"
        >
          ${field({ id: 'year', label: 'Year', control: markup`<input type="number" id="year" name="year" value="${year}" min="2000" max="${zoneYear + 1}" required />` })}
          ${field({ id: 'regulation', label: 'Regulation', control: select('regulation', 'regulation', [['', 'All regulations'], ...REGULATIONS.map((r) => [r, r] as const)], regulation) })}
          <div class="field"><button type="submit">Show</button></div>
        </form>
        <h2 id="downloads">Downloads</h2>
        <ul>
          <li>
            <a href="/reports/metrics${qs({ year, regulation, format: 'csv' })}" download
              >Metrics of ${year} (CSV)</a
            >
          </li>
          <li>
            <a
              href="/reports/requests.csv${qs({ from: `${year}-01-01`, to: `${nextYear}-01-01` })}"
              download
              >Every request received in ${year} (CSV, one row per request)</a
            >
          </li>
        </ul>
        <h2 id="metrics">Metrics of ${year}</h2>
        ${metricsTable(metrics)}`,
    }),
  );
}

function metricsTable(m: Metrics): Html {
  const rows: [string, (t: Metrics['types'][number]) => string | number][] = [
    ['Received', (t) => t.received],
    ['Complied with in whole', (t) => t.compliedInWhole],
    ['Complied with in part', (t) => t.compliedInPart],
    ['Denied', (t) => t.denied],
    ['Withdrawn (cancelled)', (t) => t.cancelled],
    ['Still open', (t) => t.open],
    ['Median days to respond', (t) => t.daysToRespond.median ?? '—'],
    ['Mean days to respond', (t) => t.daysToRespond.mean ?? '—'],
  ];
  return markup`<p class="muted">
      ${m.report}, ${m.regulation === 'all' ? 'all regulations' : m.regulation}, ${m.timeZone}:
      ${m.basis}
    </p>
    <div class="table-wrap">
      <table id="metrics">
        <thead>
          <tr>
            <th scope="col">Figure</th>
            ${m.types.map((t) => markup`<th scope="col" class="num">${t.nature}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            ([label, value]) =>
              markup`<tr>
                <th scope="row">${label}</th>
                ${m.types.map((t) => markup`<td class="num">${value(t)}</td>`)}
              </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
}
