import type { HttpResponse } from '../../http/types';
import { loadCosts, type CostRow, type CostSummary } from '../cost-source';
import { markup, type Html } from '../html';
import { field, fmtBytes, fmtUsd, htmlResponse, page, time } from '../layout';
import type { ConsoleCall } from '../router';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * `GET /console/costs?from=&to=`: BigQuery cost by month and by task, each as a chart and a
 * table, from GET /costs' use case (run records; dry runs and task audits shown apart).
 */
export async function costsPage(call: ConsoleCall): Promise<HttpResponse> {
  const q = call.req.query;
  const given = (name: string) =>
    typeof q[name] === 'string' && q[name] !== '' ? q[name] : undefined;
  const from = given('from');
  const to = given('to');
  const costs = await loadCosts(call.ctx.deps, {
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  });
  const dateInput = (name: string, label: string, value: string | undefined) =>
    field({
      id: name,
      label,
      control: markup`<input type="date" id="${name}" name="${name}" value="${value !== undefined && DATE.test(value) ? value : ''}">`,
    });
  return htmlResponse(
    page({
      title: 'Costs',
      section: 'costs',
      viewer: call.viewer,
      body: markup`<form class="filters" method="get" action="/console/costs" aria-label="Choose the range">
${dateInput('from', 'From', from)}
${dateInput('to', 'Before', to)}
<div class="field"><button type="submit">Show</button></div>
</form>
<p class="muted">BigQuery bytes billed and their price, from every run record between ${time(costs.from)} and ${time(costs.to)} (months in ${costs.timeZone}). Dry runs are counted in each row and shown apart; task audits belong to no request and are listed below.${costs.truncated ? ' Only the first groups are shown: narrow the range for the rest.' : ''}</p>
<p><strong>Total: ${fmtUsd(costs.totals.usd)}</strong> (${fmtBytes(costs.totals.bytesBilled)}, ${costs.totals.runs} runs of ${costs.totals.requests} requests), of which dry runs ${fmtUsd(costs.totals.dryRun.usd)}.</p>
<h2 id="by-month">By month</h2>
${section(costs.byMonth, 'Month', 'month')}
<h2 id="by-task">By task</h2>
${section(costs.byTask, 'Task', 'task')}
<h2 id="audits">Task audits</h2>
${audits(costs)}`,
    }),
  );
}

function section(rows: readonly CostRow[], label: string, id: string): Html {
  if (rows.length === 0) return markup`<p class="notice">No cost recorded in this range.</p>`;
  const sum = (pick: (r: CostRow) => number) => rows.reduce((s, r) => s + pick(r), 0);
  return markup`${barChart(rows, `Cost by ${label.toLowerCase()}, in US dollars`, id)}
<div class="table-wrap"><table id="costs-${id}">
<caption class="muted">The same figures as the chart.</caption>
<thead><tr><th scope="col">${label}</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Runs</th><th scope="col" class="num">Bytes billed</th><th scope="col" class="num">Cost</th><th scope="col" class="num">of which dry runs</th></tr></thead>
<tbody>${rows.map((r) => markup`<tr><th scope="row">${r.key}</th><td class="num">${r.requests}</td><td class="num">${r.runs}</td><td class="num">${fmtBytes(r.bytesBilled)}</td><td class="num">${fmtUsd(r.usd)}</td><td class="num">${fmtUsd(r.dryRun.usd)}</td></tr>`)}</tbody>
<tfoot><tr><th scope="row">Total</th><td class="num">—</td><td class="num">${sum((r) => r.runs)}</td><td class="num">${fmtBytes(sum((r) => r.bytesBilled))}</td><td class="num">${fmtUsd(sum((r) => r.usd))}</td><td class="num">${fmtUsd(sum((r) => r.dryRun.usd))}</td></tr></tfoot>
</table></div>`;
}

function audits(costs: CostSummary): Html {
  if (costs.audits.audits === 0) return markup`<p class="muted">No task audit in this range.</p>`;
  return markup`<div class="table-wrap"><table id="costs-audits">
<caption class="muted">${costs.audits.audits} audits, ${fmtUsd(costs.audits.usd)} in all, by who ran them.</caption>
<thead><tr><th scope="col">Caller</th><th scope="col" class="num">Audits</th><th scope="col" class="num">Bytes billed</th><th scope="col" class="num">Cost</th></tr></thead>
<tbody>${costs.audits.byCaller.map((c) => markup`<tr><th scope="row">${c.caller}</th><td class="num">${c.audits}</td><td class="num">${fmtBytes(c.bytesBilled)}</td><td class="num">${fmtUsd(c.usd)}</td></tr>`)}</tbody>
</table></div>`;
}

/**
 * A horizontal bar chart as inline SVG, rendered here (no script). Every label goes through the
 * `markup` tag like any other text; the chart has a title and is described by its table.
 */
export function barChart(rows: readonly CostRow[], title: string, id: string): Html {
  const shown = rows.slice(0, 24);
  const barHeight = 22;
  const gap = 8;
  const labelWidth = 230;
  const width = 860;
  const chartWidth = width - labelWidth - 120;
  const max = Math.max(...shown.map((r) => r.usd), 0);
  const height = shown.length * (barHeight + gap) + gap;
  const titleId = `chart-${id}-title`;
  return markup`<figure class="chart">
    <svg
      viewBox="0 0 ${width} ${height}"
      role="img"
      aria-labelledby="${titleId}"
      xmlns="http://www.w3.org/2000/svg"
    >
      <title id="${titleId}">${title}</title>
      ${shown.map((r, i) => {
        const y = gap + i * (barHeight + gap);
        const w =
          max === 0 || r.usd === 0 ? 0 : Math.max(1, Math.round((r.usd / max) * chartWidth));
        const label = r.key.length > 30 ? `${r.key.slice(0, 29)}…` : r.key;
        return markup`<g>
          <text
            x="${labelWidth - 8}"
            y="${y + barHeight * 0.7}"
            text-anchor="end"
            font-size="13"
            fill="#1b1f24"
            >${label}</text
          >
          <rect
            x="${labelWidth}"
            y="${y}"
            width="${w}"
            height="${barHeight}"
            fill="#0b5cad"
            rx="2"
          ></rect>
          <text x="${labelWidth + w + 6}" y="${y + barHeight * 0.7}" font-size="13" fill="#1b1f24"
            >${fmtUsd(r.usd)}</text
          >
        </g>`;
      })}
    </svg>
    <figcaption>
      ${title}${rows.length > shown.length ? ` (the first ${shown.length} of ${rows.length}; all are in the table)` : ''}.
    </figcaption>
  </figure>`;
}
