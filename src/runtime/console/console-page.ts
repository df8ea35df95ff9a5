/**
 * The web console's page: static markup and styles; `/console.js` fills it from `/api/job`.
 * Sections carry ids the script (and the browser test) address.
 */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>streamline console</title>
<style>
  :root { --bg: #f5f6f8; --card: #fff; --ink: #1d2330; --muted: #667085; --line: #e2e5ea; --accent: #2f6fdb;
          --ok: #1f8a4c; --warn: #b7791f; --bad: #c53030; --idle: #dbe8fb; --busy: #e05252; --bp: #3b3f47; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
  header { display: flex; flex-wrap: wrap; align-items: center; gap: 12px 20px; padding: 12px 24px; background: #1f2a44; color: #fff; }
  header h1 { margin: 0; font-size: 18px; font-weight: 600; }
  header .brand { opacity: .7; font-weight: 400; margin-right: 6px; }
  header .facts { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 13px; opacity: .9; }
  .pill { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; background: #667085; color: #fff; }
  .pill.running { background: var(--ok); } .pill.stopping, .pill.starting { background: var(--warn); }
  .pill.failed { background: var(--bad); } .pill.finished { background: var(--accent); } .pill.standby { background: #667085; }
  #connection.lost { color: #ffb4b4; font-weight: 600; }
  main { padding: 16px 24px 40px; display: grid; gap: 16px; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
  section h2 { margin: 0 0 10px; font-size: 15px; font-weight: 600; }
  section h2 small { font-weight: 400; color: var(--muted); margin-left: 8px; }
  .row { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
  .scroll { overflow-x: auto; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { color: var(--muted); font-weight: 500; font-size: 12px; }
  th:first-child, td:first-child, td.text, th.text { text-align: left; }
  td.wrap { white-space: normal; word-break: break-all; text-align: left; }
  tr.failed td { color: var(--bad); } tr.in-progress td { color: var(--warn); }
  .empty { color: var(--muted); font-style: italic; padding: 6px 0; }
  .stats { display: flex; flex-wrap: wrap; gap: 8px 24px; margin-bottom: 10px; }
  .stat b { display: block; font-size: 18px; font-variant-numeric: tabular-nums; }
  .stat span { color: var(--muted); font-size: 12px; }
  .tabs { display: flex; gap: 4px; margin-bottom: 8px; }
  .tabs button { border: 1px solid var(--line); background: #fff; border-radius: 6px; padding: 3px 10px; font: inherit; font-size: 13px; cursor: pointer; }
  .tabs button[aria-selected="true"] { background: var(--accent); color: #fff; border-color: var(--accent); }
  .bars { display: flex; align-items: flex-end; gap: 3px; height: 70px; margin: 6px 0 12px; border-bottom: 1px solid var(--line); }
  .bars div { width: 10px; display: flex; flex-direction: column-reverse; }
  .bars span { display: block; width: 100%; }
  .bars .sync { background: #7aa7ea; } .bars .async { background: var(--accent); } .bars .fail { background: var(--bad); }
  .legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); margin-top: 6px; }
  .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
  svg text { font: 12px system-ui, sans-serif; }
  svg .name { font-weight: 600; font-size: 13px; }
  .meter { display: inline-block; width: 60px; height: 6px; background: var(--line); border-radius: 3px; vertical-align: middle; margin-left: 6px; overflow: hidden; }
  .meter i { display: block; height: 100%; }
  .kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 12px; font-size: 13px; }
  .kv dt { color: var(--muted); } .kv dd { margin: 0; word-break: break-all; }
  code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
</style>
</head>
<body>
<header>
  <h1><span class="brand">streamline</span><span id="job-name">…</span></h1>
  <span id="phase" class="pill">…</span>
  <div class="facts">
    <span id="ready"></span><span id="uptime"></span><span id="parallelism"></span><span id="connection">connecting…</span>
  </div>
</header>
<main>
  <section id="graph-section">
    <h2>Job graph <small>records/s in and out, busy and backpressure per step</small></h2>
    <div class="scroll"><svg id="graph" role="img" aria-label="job graph" width="0" height="0"></svg></div>
    <div class="legend"><span><i style="background:var(--idle)"></i>idle</span><span><i style="background:var(--busy)"></i>busy</span><span><i style="background:var(--bp)"></i>backpressured</span></div>
  </section>
  <section>
    <h2>Steps</h2>
    <div class="scroll"><table id="steps"><thead><tr>
      <th>step</th><th class="text">kind</th><th>records in</th><th>in/s</th><th>records out</th><th>out/s</th><th>busy</th><th>backpressure</th><th>watermark lag</th><th>dead letters</th>
    </tr></thead><tbody></tbody></table></div>
  </section>
  <section id="checkpoints">
    <h2>Checkpoints</h2>
    <div class="stats" id="checkpoint-stats"></div>
    <div class="tabs" role="tablist">
      <button role="tab" aria-selected="true" data-tab="checkpoint-history">History</button>
      <button role="tab" aria-selected="false" data-tab="checkpoint-summary">Summary</button>
    </div>
    <div id="checkpoint-history">
      <div class="bars" id="checkpoint-bars" title="duration of recent checkpoints: sync (light) and async (dark) phases; failed in red"></div>
      <div class="scroll"><table><thead><tr>
        <th>id</th><th class="text">status</th><th class="text">triggered</th><th>duration</th><th>sync</th><th>async</th><th>alignment</th><th>start delay</th><th>size</th><th>written</th><th class="text">note</th>
      </tr></thead><tbody id="checkpoint-rows"></tbody></table></div>
    </div>
    <div id="checkpoint-summary" hidden>
      <table><thead><tr><th></th><th>min</th><th>average</th><th>max</th></tr></thead><tbody id="checkpoint-summary-rows"></tbody></table>
    </div>
  </section>
  <div class="row">
    <section id="kafka">
      <h2>Kafka lag <small>per partition</small></h2>
      <table><thead><tr><th class="text">topic</th><th>partition</th><th>lag (records)</th></tr></thead><tbody id="lag-rows"></tbody></table>
    </section>
    <section id="watermarks">
      <h2>Watermarks</h2>
      <table><thead><tr><th class="text">step</th><th class="text">watermark</th><th>lag</th></tr></thead><tbody id="watermark-rows"></tbody></table>
    </section>
  </div>
  <section id="commits">
    <h2>Iceberg commits</h2>
    <div id="outputs"></div>
    <div class="scroll"><table><thead><tr>
      <th class="text">committed</th><th class="text">step</th><th>checkpoint</th><th class="text">snapshot id</th><th>rows</th><th>files</th><th>bytes</th><th>duration</th><th>attempts</th>
    </tr></thead><tbody id="commit-rows"></tbody></table></div>
  </section>
  <section id="dead-letters">
    <h2>Dead letters <small id="dead-letter-location"></small></h2>
    <table><thead><tr><th class="text">reason</th><th class="text">step</th><th>records</th><th>per s</th></tr></thead><tbody id="dead-letter-rows"></tbody></table>
  </section>
</main>
<script type="module" src="console.js"></script>
</body>
</html>
`;
