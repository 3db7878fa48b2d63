/**
 * The console's one static file, served from /console/assets: the style sheet. It lives here as
 * a string so the function's package carries it with no build step. The console needs no
 * script: every action is a plain form with a required confirmation checkbox.
 */

export const CONSOLE_CSS = `
:root {
  --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de;
  --accent: #0b5cad; --danger: #b3261e; --danger-bg: #fde7e6; --warn: #7a4d00;
  --warn-bg: #fff4d6; --ok: #1a7f37; --ok-bg: #e6f4ea; --focus: #ffbf47;
}
* { box-sizing: border-box; }
html { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
body { margin: 0; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; top: 0; background: var(--fg); color: #fff; padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; top: .5rem; }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1rem; background: #0d2a4a; color: #fff; }
header.top a { color: #fff; }
header.top .brand { font-weight: 700; text-decoration: none; }
header.top nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
header.top nav a[aria-current="page"] { text-decoration: underline; text-underline-offset: 4px; font-weight: 600; }
header.top .who { margin-left: auto; font-size: .9rem; opacity: .9; }
main { padding: 1rem; max-width: 1240px; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .25rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--panel); white-space: nowrap; }
caption { text-align: left; padding: .4rem .6rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.overdue { background: var(--danger-bg); }
tr.at_risk { background: var(--warn-bg); }
.tag { display: inline-block; padding: .05rem .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.tag.overdue, .tag.failed, .tag.denied { color: var(--danger); background: var(--danger-bg); }
.tag.at_risk, .tag.awaiting_approval, .tag.pending_approval, .tag.awaiting_verification { color: var(--warn); background: var(--warn-bg); }
.tag.ok, .tag.succeeded, .tag.completed { color: var(--ok); background: var(--ok-bg); }
form.filters { display: flex; flex-wrap: wrap; gap: .75rem 1rem; align-items: flex-end; margin-bottom: 1rem; padding: .75rem; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
.field { display: flex; flex-direction: column; gap: .2rem; min-width: 10rem; }
.field.wide { flex: 1 1 100%; }
label { font-weight: 600; font-size: .9rem; }
input, select, textarea, button { font: inherit; }
input[type="text"], input[type="search"], input[type="date"], input[type="number"], select, textarea { padding: .35rem .5rem; border: 1px solid #8c959f; border-radius: 4px; background: #fff; width: 100%; }
textarea { min-height: 4.5rem; }
textarea.code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; min-height: 10rem; font-size: .85rem; }
.check { display: flex; gap: .4rem; align-items: center; font-weight: 400; }
button, .button { display: inline-block; padding: .4rem .9rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--danger); border-color: var(--danger); }
.actions { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: 1rem; }
.actions form, .panel { border: 1px solid var(--line); border-radius: 6px; padding: .75rem; background: var(--panel); display: flex; flex-direction: column; gap: .5rem; }
.actions h3 { margin: 0; font-size: 1rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.error-text { color: var(--danger); font-size: .88rem; }
.notice { padding: .6rem .8rem; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); margin: .5rem 0 1rem; }
.notice.error { border-color: var(--danger); background: var(--danger-bg); }
.notice.success { border-color: var(--ok); background: var(--ok-bg); }
.muted { color: var(--muted); }
.pager { display: flex; gap: 1rem; margin-top: .75rem; }
ol.timeline { list-style: none; padding: 0; margin: 0; border-left: 3px solid var(--line); }
ol.timeline li { padding: .3rem 0 .3rem .8rem; }
figure.chart { margin: 0 0 1rem; }
figure.chart svg { width: 100%; height: auto; max-width: 900px; }
figure.chart figcaption { font-size: .9rem; color: var(--muted); }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--panel); padding: .5rem; border-radius: 4px; font-size: .85rem; }
@media (max-width: 640px) {
  html { font-size: 15px; }
  main { padding: .6rem; }
  header.top .who { margin-left: 0; flex-basis: 100%; }
  .field { min-width: 0; flex: 1 1 45%; }
  th, td { padding: .35rem .4rem; }
  table.responsive thead { position: absolute; left: -9999px; }
  table.responsive tr { display: block; border-bottom: 2px solid var(--line); padding: .25rem 0; }
  table.responsive td, table.responsive th[scope="row"] { display: block; position: relative; border: 0; padding: .2rem .4rem .2rem 8.5rem; min-height: 1.6rem; overflow-wrap: anywhere; }
  table.responsive td::before, table.responsive th[scope="row"]::before { content: attr(data-label); position: absolute; left: .4rem; width: 7.6rem; font-weight: 600; color: var(--muted); }
  td.num { text-align: left; }
}
`;
