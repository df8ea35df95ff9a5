// The streamline web console: polls `api/job` (see job-overview.ts for the document) and renders
// the job graph, steps, checkpoints, Kafka lag, watermarks, Iceberg commits and dead letters.
// Written by hand for the browser, no framework and no build step; text goes in through
// textContent only, never as HTML. Rates are differences between two polls.

const POLL_MS = 2000;
const SVG = 'http://www.w3.org/2000/svg';

let previous;
let lastOk = 0;

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, String(v));
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child === undefined || child === null ? '' : String(child)));
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------------------------------------------------------------- formatting

const count = (n) => (n === null || n === undefined ? '—' : Math.round(n).toLocaleString('en-US'));

function rate(n) {
  if (n === undefined || n === null || !Number.isFinite(n)) return '…';
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(n >= 10 ? 1 : 2);
}

function compactRate(n) {
  if (n === undefined || !Number.isFinite(n)) return '…';
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n >= 10 ? n.toFixed(0) : n.toFixed(1);
}

function bytes(n) {
  if (n === undefined || n === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function duration(ms) {
  if (ms === undefined || ms === null) return '—';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const percent = (f) => (f === undefined || !Number.isFinite(f) ? '…' : `${Math.round(Math.min(1, Math.max(0, f)) * 100)} %`);
const clock = (ms) => (ms ? new Date(ms).toLocaleTimeString([], { hour12: false }) : '—');

// ---------------------------------------------------------------- rates between two polls

/** Per step: records/s in and out, and fractions of time busy and backpressured. */
function stepRates(current, before) {
  const rates = new Map();
  if (!before) return rates;
  const seconds = (current.sampledAt - before.sampledAt) / 1000;
  if (!(seconds > 0)) return rates;
  const old = new Map(before.steps.map((s) => [s.id, s]));
  const threads = Math.max(1, current.parallelism);
  for (const step of current.steps) {
    const was = old.get(step.id);
    if (!was) continue;
    const per = (now, then) => (now === null || then === null ? undefined : Math.max(0, now - then) / seconds);
    rates.set(step.id, {
      in: per(step.recordsIn, was.recordsIn),
      out: per(step.recordsOut, was.recordsOut),
      busy: Math.max(0, step.busySeconds - was.busySeconds) / seconds / threads,
      backpressure: Math.max(0, step.backpressureSeconds - was.backpressureSeconds) / seconds / threads,
    });
  }
  return rates;
}

// ---------------------------------------------------------------- sections

function renderHeader(job) {
  $('job-name').textContent = job.job;
  document.title = `${job.job} · streamline`;
  const phase = $('phase');
  phase.textContent = job.phase;
  phase.className = `pill ${job.phase}`;
  $('ready').textContent = job.ready ? 'ready' : 'not ready';
  $('uptime').textContent = `up ${duration(job.sampledAt - job.startedAt)}`;
  $('parallelism').textContent = `parallelism ${job.parallelism}`;
}

/** Flink's colours: blue when idle, towards red when busy, dark when backpressured. */
function nodeColour(r) {
  if (!r) return { fill: '#eef1f5', ink: '#1d2330' };
  if (r.backpressure > 0.1 && r.backpressure >= r.busy) return { fill: '#3b3f47', ink: '#fff' };
  const busy = Math.min(1, r.busy);
  const idle = [219, 232, 251];
  const hot = [214, 64, 64];
  const [red, green, blue] = idle.map((c, i) => Math.round(c + (hot[i] - c) * busy));
  return { fill: `rgb(${red}, ${green}, ${blue})`, ink: busy > 0.6 ? '#fff' : '#1d2330' };
}

function renderGraph(job, rates) {
  const W = 200;
  const H = 92;
  const GAP_X = 56;
  const GAP_Y = 22;
  const depth = new Map();
  for (const step of job.steps) depth.set(step.id, step.inputs.length === 0 ? 0 : 1 + Math.max(...step.inputs.map((i) => depth.get(i) ?? 0)));
  const columns = [];
  for (const step of job.steps) (columns[depth.get(step.id)] ??= []).push(step);
  const at = new Map();
  columns.forEach((column, c) => column.forEach((step, r) => at.set(step.id, { x: 10 + c * (W + GAP_X), y: 10 + r * (H + GAP_Y) })));
  const graph = $('graph');
  graph.replaceChildren();
  const width = 20 + columns.length * (W + GAP_X) - GAP_X;
  const height = 20 + Math.max(1, ...columns.map((c) => c.length)) * (H + GAP_Y) - GAP_Y;
  graph.setAttribute('width', String(width));
  graph.setAttribute('height', String(height));
  graph.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#98a2b3' }));
  defs.append(marker);
  graph.append(defs);
  for (const step of job.steps) {
    const to = at.get(step.id);
    for (const input of step.inputs) {
      const from = at.get(input);
      if (!from) continue;
      const x1 = from.x + W;
      const y1 = from.y + H / 2;
      const x2 = to.x;
      const y2 = to.y + H / 2;
      const mid = (x1 + x2) / 2;
      graph.append(svg('path', { d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`, fill: 'none', stroke: '#98a2b3', 'stroke-width': 1.5, 'marker-end': 'url(#arrow)' }));
    }
  }
  for (const step of job.steps) {
    const { x, y } = at.get(step.id);
    const r = rates.get(step.id);
    const colour = nodeColour(r);
    const g = svg('g', { 'data-step': step.id, transform: `translate(${x} ${y})` });
    g.append(svg('title', {}, `${step.id}: busy ${percent(r?.busy)}, backpressure ${percent(r?.backpressure)}`));
    g.append(svg('rect', { width: W, height: H, rx: 8, fill: colour.fill, stroke: '#98a2b3' }));
    g.append(svg('text', { x: 10, y: 20, fill: colour.ink, class: 'name' }, step.name));
    g.append(svg('text', { x: W - 10, y: 20, fill: colour.ink, 'text-anchor': 'end', opacity: 0.75 }, step.keyed ? `${step.kind} · keyed` : step.kind));
    g.append(svg('text', { x: 10, y: 42, fill: colour.ink }, `in ${step.recordsIn === null ? '—' : compactRate(r?.in)}/s · out ${step.recordsOut === null ? '—' : compactRate(r?.out)}/s`));
    g.append(svg('text', { x: 10, y: 62, fill: colour.ink }, `busy ${percent(r?.busy)}`));
    g.append(svg('text', { x: 10, y: 80, fill: colour.ink }, `backpressure ${percent(r?.backpressure)}`));
    graph.append(g);
  }
}

function meter(fraction, colour) {
  const bar = el('span', { class: 'meter' });
  const fill = el('i');
  fill.style.width = `${Math.round(Math.min(1, Math.max(0, fraction ?? 0)) * 100)}%`;
  fill.style.background = colour;
  bar.append(fill);
  return bar;
}

function renderSteps(job, rates) {
  const rows = job.steps.map((step) => {
    const r = rates.get(step.id);
    const busy = el('td', {}, percent(r?.busy));
    busy.append(meter(r?.busy, 'var(--busy)'));
    const bp = el('td', {}, percent(r?.backpressure));
    bp.append(meter(r?.backpressure, 'var(--bp)'));
    return el(
      'tr',
      { 'data-step': step.id },
      el('td', {}, step.name),
      el('td', { class: 'text' }, step.keyed ? `${step.kind} (keyed)` : step.kind),
      el('td', {}, count(step.recordsIn)),
      el('td', {}, step.recordsIn === null ? '—' : rate(r?.in)),
      el('td', {}, count(step.recordsOut)),
      el('td', {}, step.recordsOut === null ? '—' : rate(r?.out)),
      busy,
      bp,
      el('td', {}, step.watermarkLagSeconds === null ? '—' : duration(step.watermarkLagSeconds * 1000)),
      el('td', {}, count(step.deadLetters)),
    );
  });
  $('steps').tBodies[0].replaceChildren(...rows);
}

function stat(label, value) {
  return el('div', { class: 'stat' }, el('b', {}, value), el('span', {}, label));
}

function renderCheckpoints(job) {
  const { history } = job.checkpoints;
  const completed = history.filter((c) => c.status === 'completed');
  const last = completed.at(-1);
  const inProgress = history.filter((c) => c.status === 'in-progress').length;
  $('checkpoint-stats').replaceChildren(
    stat('triggered', count(job.checkpoints.started)),
    stat('completed', count(job.checkpoints.completed)),
    stat('failed', count(job.checkpoints.failed)),
    stat('in progress', count(inProgress)),
    stat('last completed', last ? `#${last.id} · ${duration(job.sampledAt - last.completedAt)} ago` : '—'),
    stat('last duration', last ? duration(last.durationMs) : '—'),
    stat('last size', last ? bytes(last.fullBytes) : '—'),
  );
  const longest = Math.max(1, ...history.map((c) => c.durationMs ?? (c.syncMs ?? 0) + (c.asyncMs ?? 0)));
  $('checkpoint-bars').replaceChildren(
    ...history.slice(-40).map((c) => {
      const bar = el('div', { title: `#${c.id} ${c.status} ${duration(c.durationMs)}` });
      const part = (cls, ms) => {
        const piece = el('span', { class: cls });
        piece.style.height = `${Math.max(2, Math.round(((ms ?? 0) / longest) * 66))}px`;
        return piece;
      };
      if (c.status === 'failed') bar.append(part('fail', longest / 3));
      else if (c.status === 'completed') bar.append(part('sync', c.syncMs), part('async', c.asyncMs));
      return bar;
    }),
  );
  const rows = [...history].reverse().map((c) =>
    el(
      'tr',
      { 'data-checkpoint': c.id, 'data-status': c.status, class: c.status },
      el('td', {}, `#${c.id}`),
      el('td', { class: 'text' }, c.status),
      el('td', { class: 'text' }, clock(c.triggeredAt)),
      el('td', {}, duration(c.durationMs)),
      el('td', {}, duration(c.syncMs)),
      el('td', {}, duration(c.asyncMs)),
      el('td', {}, duration(c.alignmentMs)),
      el('td', {}, duration(c.startDelayMs)),
      el('td', {}, bytes(c.fullBytes)),
      el('td', {}, bytes(c.writtenBytes)),
      el('td', { class: 'wrap' }, [c.final ? 'final' : '', c.failure ?? ''].filter(Boolean).join(' · ')),
    ),
  );
  $('checkpoint-rows').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 11, class: 'empty' }, 'no checkpoint yet'))]));
  const summary = (label, values, format) => {
    const known = values.filter((v) => v !== undefined && v !== null);
    if (known.length === 0) return el('tr', {}, el('td', {}, label), el('td', {}, '—'), el('td', {}, '—'), el('td', {}, '—'));
    const sum = known.reduce((a, b) => a + b, 0);
    return el('tr', {}, el('td', {}, label), el('td', {}, format(Math.min(...known))), el('td', {}, format(sum / known.length)), el('td', {}, format(Math.max(...known))));
  };
  $('checkpoint-summary-rows').replaceChildren(
    summary('duration', completed.map((c) => c.durationMs), duration),
    summary('sync phase', completed.map((c) => c.syncMs), duration),
    summary('async phase', completed.map((c) => c.asyncMs), duration),
    summary('size', completed.map((c) => c.fullBytes), bytes),
    summary('written', completed.map((c) => c.writtenBytes), bytes),
  );
}

function emptyRow(columns, text) {
  return el('tr', {}, el('td', { colspan: columns, class: 'empty' }, text));
}

function renderKafka(job) {
  const rows = job.kafka.partitions.map((p) => el('tr', { 'data-partition': `${p.topic}:${p.partition}` }, el('td', {}, p.topic), el('td', {}, p.partition), el('td', {}, count(p.lag))));
  $('lag-rows').replaceChildren(...(rows.length ? rows : [emptyRow(3, 'no Kafka partition read by this instance')]));
  const marks = job.steps.filter((s) => s.watermarkLagSeconds !== null);
  const wm = marks.map((s) => el('tr', { 'data-step': s.id }, el('td', {}, s.name), el('td', { class: 'text' }, new Date(job.sampledAt - s.watermarkLagSeconds * 1000).toISOString()), el('td', {}, duration(s.watermarkLagSeconds * 1000))));
  $('watermark-rows').replaceChildren(...(wm.length ? wm : [emptyRow(3, 'no event-time watermark')]));
}

function renderCommits(job) {
  $('outputs').replaceChildren(
    ...job.outputs.map((o) =>
      el(
        'div',
        { 'data-output': o.step },
        el('div', { class: 'stats' }, stat('table', o.name), stat('rows in the table', count(o.totalRows))),
        el(
          'dl',
          { class: 'kv' },
          el('dt', {}, 'catalog'),
          el('dd', {}, o.catalog),
          el('dt', {}, 'location'),
          el('dd', {}, el('code', {}, o.location)),
          el('dt', {}, 'metadata'),
          el('dd', {}, el('code', {}, o.metadataLocation ?? '—')),
        ),
      ),
    ),
  );
  const rows = [...job.commits].reverse().map((c) =>
    el(
      'tr',
      { 'data-snapshot': c.id, 'data-checkpoint': c.checkpointId },
      el('td', {}, clock(c.committedAt)),
      el('td', { class: 'text' }, c.step.slice(job.job.length + 1)),
      el('td', {}, `#${c.checkpointId}`),
      el('td', { class: 'text' }, el('code', {}, c.id)),
      el('td', {}, count(c.rows)),
      el('td', {}, count(c.files)),
      el('td', {}, bytes(c.bytes)),
      el('td', {}, duration(c.durationMs)),
      el('td', {}, c.attempts),
    ),
  );
  $('commit-rows').replaceChildren(...(rows.length ? rows : [emptyRow(9, 'no commit yet in this process')]));
}

function renderDeadLetters(job, before) {
  $('dead-letter-location').textContent = job.deadLetters.location ? `→ ${job.deadLetters.location}` : '';
  const seconds = before ? (job.sampledAt - before.sampledAt) / 1000 : 0;
  const old = new Map((before?.deadLetters.byReason ?? []).map((r) => [`${r.step} ${r.reason}`, r.count]));
  const rows = job.deadLetters.byReason.map((r) =>
    el(
      'tr',
      { 'data-reason': r.reason },
      el('td', {}, r.reason),
      el('td', { class: 'text' }, r.step.slice(job.job.length + 1)),
      el('td', {}, count(r.count)),
      el('td', {}, seconds > 0 ? rate(Math.max(0, r.count - (old.get(`${r.step} ${r.reason}`) ?? 0)) / seconds) : '…'),
    ),
  );
  $('dead-letter-rows').replaceChildren(...(rows.length ? rows : [emptyRow(4, 'none')]));
}

// ---------------------------------------------------------------- loop

function render(job) {
  const rates = stepRates(job, previous);
  renderHeader(job);
  renderGraph(job, rates);
  renderSteps(job, rates);
  renderCheckpoints(job);
  renderKafka(job);
  renderCommits(job);
  renderDeadLetters(job, previous);
}

async function poll() {
  const connection = $('connection');
  try {
    const response = await fetch('api/job', { cache: 'no-store', signal: AbortSignal.timeout(5000) });
    if (response.status === 503) {
      connection.textContent = 'job starting…';
    } else if (!response.ok) {
      throw new Error(`HTTP ${response.status}`);
    } else {
      const job = await response.json();
      render(job);
      previous = job;
      lastOk = Date.now();
      connection.textContent = `updated ${new Date(lastOk).toLocaleTimeString([], { hour12: false })}`;
      connection.className = '';
    }
  } catch (error) {
    connection.textContent = `connection lost${lastOk ? ` since ${new Date(lastOk).toLocaleTimeString([], { hour12: false })}` : ''} (${error instanceof Error ? error.message : error})`;
    connection.className = 'lost';
  }
  setTimeout(poll, POLL_MS);
}

for (const tab of document.querySelectorAll('[data-tab]')) {
  tab.addEventListener('click', () => {
    for (const other of document.querySelectorAll('[data-tab]')) {
      const selected = other === tab;
      other.setAttribute('aria-selected', String(selected));
      $(other.getAttribute('data-tab')).hidden = !selected;
    }
  });
}

void poll();
