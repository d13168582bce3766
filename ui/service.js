// One service: its state, actions, a rollout form, per-second charts (uPlot) with steps and verdicts
// marked, the rollout's timeline with each verdict's evidence, its events, and the rollout history.
import { get, post, svc } from './api.js';
import { fmt, h } from './views.js';

const COLORS = { stable: '#1f5fbf', canary: '#b3411a' };
const MARK = { step: '#5a3fc0', pass: '#1b7a3a', fail: '#c0162b', inconclusive: '#6b6b6b' };

export class ServicePage {
  constructor(root, name, notify) {
    this.name = name;
    this.notify = notify;
    this.marks = [];
    this.charts = [];
    this.data = null;
    this.refreshTimer = null;
    // Events the stream delivers while load() fetches the page (null otherwise), and the events shown (by key),
    // so neither a load nor a replayed stream shows an event twice or loses one.
    this.arrived = null;
    this.shown = new Set();
    this.state = h('div', { class: 'state', role: 'status', 'aria-live': 'polite' });
    this.actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Rollout actions' });
    this.chartBox = h('div', { class: 'charts' });
    this.timeline = h('div', { class: 'timeline' });
    this.events = h('ol', { class: 'events', 'aria-label': 'Events, newest first' });
    this.history = h('div');
    root.replaceChildren(
      h('p', null, h('a', { href: '#/', text: '← All services' })),
      h('h2', { text: name }),
      this.state,
      h('h3', { text: 'Actions' }),
      this.actions,
      this.startForm(),
      h('h3', { text: 'Last 15 minutes, per second' }),
      h('p', { class: 'legend' }, legend('stable'), legend('canary'), markLegend()),
      this.chartBox,
      h('h3', { text: 'Rollout timeline' }),
      this.timeline,
      h('h3', { text: 'Events' }),
      this.events,
      h('h3', { text: 'Rollout history' }),
      this.history,
    );
    this.buildActions();
  }

  async load() {
    this.arrived = [];
    let status, series, events;
    try {
      [status, series, events] = await Promise.all([
        get(svc(this.name)),
        get(svc(this.name) + '/series?seconds=900'),
        get(svc(this.name) + '/events?limit=200'),
      ]);
    } catch (e) {
      this.arrived = null;
      throw e;
    }
    this.showStatus(status);
    // The page was read at some moment of the fetches: an event the stream delivered after it is newer than
    // its newest seq, and is kept (it used to be wiped); one the page holds too is shown once.
    const newest = events.events.reduce((m, e) => Math.max(m, e.seq), 0);
    const all = events.events.concat(this.arrived.filter((e) => e.seq > newest));
    this.arrived = null;
    this.shown = new Set(all.map(eventKey));
    this.marks = all.map(markOf).filter(Boolean);
    this.events.replaceChildren(...all.slice().reverse().map(eventItem));
    this.drawCharts(series);
    await this.loadHistory(status);
  }

  async loadHistory(status) {
    let rollouts = [];
    try {
      rollouts = (await get(svc(this.name) + '/rollouts?limit=10')).rollouts;
    } catch (e) {
      this.history.replaceChildren(h('p', { text: e.message }));
    }
    this.timeline.replaceChildren(...timelineOf(status.rollout, rollouts[0]));
    this.history.replaceChildren(historyTable(rollouts));
  }

  showStatus(s) {
    this.status = s;
    const r = s.rollout;
    const rows = [
      ['Canary weight', fmt.weight(s.weight)],
      ['Phase', r ? r.phase : 'no rollout'],
      ['Step', r ? r.step + 1 + ' of ' + r.steps.length + ' (' + r.steps.join(', ') + ')' : '–'],
      ['Reason', r && r.reason ? r.reason : '–'],
      ['Stable targets', targets(s.pools.stable)],
      ['Canary targets', targets(s.pools.canary)],
    ];
    if (r && r.gate) rows.push(['Waiting for gate', r.gate.name + ' (refused ' + r.gate.refusals + '×)']);
    this.state.replaceChildren(h('dl', null, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])));
  }

  buildActions() {
    const act = (label, path, confirmText) =>
      h('button', {
        type: 'button',
        'data-action': label.toLowerCase(),
        text: label,
        onclick: () => this.run(label, path, undefined, confirmText),
      });
    const weight = h('input', { id: 'shift-weight', type: 'number', min: 0, max: 100, step: 'any', required: true });
    const shift = h(
      'form',
      {
        class: 'inline',
        onsubmit: (e) => {
          e.preventDefault();
          const w = Number(weight.value);
          this.run('Shift', '/shift', { weight: w }, 'Move ' + w + '% of ' + this.name + "'s traffic to the canary?");
        },
      },
      h('label', { for: 'shift-weight', text: 'Canary weight %' }),
      weight,
      h('button', { type: 'submit', text: 'Shift' }),
    );
    this.actions.replaceChildren(
      shift,
      act('Promote', '/rollout/promote', 'Promote the canary of ' + this.name + '?'),
      act('Pause', '/rollout/pause'),
      act('Resume', '/rollout/resume'),
      act('Abort', '/rollout/abort', 'Abort the rollout of ' + this.name + ' and send all traffic back to stable?'),
      act('Undo', '/rollout/undo', 'Roll ' + this.name + ' back to the previous version?'),
      act('Retry', '/rollout/retry', 'Start the last rollout of ' + this.name + ' again?'),
    );
  }

  startForm() {
    const f = (id, label, attrs) => [h('label', { for: id, text: label }), h('input', { id, ...attrs })];
    const form = h(
      'form',
      { class: 'start', 'aria-labelledby': 'start-title', onsubmit: (e) => this.start(e) },
      h('h3', { id: 'start-title', text: 'Start a rollout' }),
      f('start-targets', 'Canary targets (host:port, comma-separated)', { name: 'targets', placeholder: '127.0.0.1:9002' }),
      f('start-image', 'or image (Docker services)', { name: 'image', placeholder: 'app:2' }),
      f('start-count', 'Containers (image only)', { name: 'count', type: 'number', min: 1, max: 50 }),
      f('start-steps', 'Steps % (optional, comma-separated)', { name: 'steps', placeholder: '5, 25, 50' }),
      h('button', { type: 'submit', text: 'Start rollout' }),
    );
    return form;
  }

  start(e) {
    e.preventDefault();
    const v = (id) => document.getElementById(id).value.trim();
    const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
    const canary = v('start-image')
      ? { image: v('start-image'), ...(v('start-count') ? { count: Number(v('start-count')) } : {}) }
      : { targets: list(v('start-targets')) };
    const body = { canary };
    if (v('start-steps')) body.rollout = { steps: list(v('start-steps')).map(Number) };
    return this.run('Start', '/rollouts', body);
  }

  async run(label, path, body, confirmText) {
    if (confirmText && !window.confirm(confirmText)) return;
    try {
      const r = await post(svc(this.name) + path, body);
      this.notify(label + ': ' + (r && r.phase ? r.phase : 'done'), false);
      this.refreshSoon();
    } catch (e) {
      this.notify(label + ' refused: ' + e.message, true);
    }
  }

  refreshSoon() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(async () => {
      try {
        const s = await get(svc(this.name));
        this.showStatus(s);
        await this.loadHistory(s);
      } catch (e) {
        this.notify(e.message, true);
      }
    }, 300);
  }

  onEvent(e) {
    if (e.service !== this.name) return;
    if (this.arrived) this.arrived.push(e);
    // A stream that reconnects to a restarted server (or another replica) replays what that one holds.
    const key = eventKey(e);
    if (this.shown.has(key)) return;
    this.shown.add(key);
    if (this.shown.size > 1000) this.shown.delete(this.shown.values().next().value);
    this.events.prepend(eventItem(e));
    while (this.events.children.length > 200) this.events.lastChild.remove();
    const m = markOf(e);
    if (m) {
      this.marks.push(m);
      for (const c of this.charts) c.redraw(false);
    }
    this.refreshSoon();
  }

  onFrame(frame) {
    const s = frame.services.find((x) => x.name === this.name);
    if (!s || !s.point || !this.data || frame.sec === null) return;
    const d = this.data;
    if (d.t.length > 0 && d.t[d.t.length - 1] >= frame.sec) return;
    d.t.push(frame.sec);
    for (const pool of ['stable', 'canary'])
      for (const k of ['requests', 'errors', 'p50Ms', 'p99Ms']) d[pool][k].push(s.point[pool][k]);
    if (d.t.length > 900) {
      d.t.shift();
      for (const pool of ['stable', 'canary']) for (const k of ['requests', 'errors', 'p50Ms', 'p99Ms']) d[pool][k].shift();
    }
    this.updateCharts();
  }

  drawCharts(series) {
    const empty = { requests: [], errors: [], p50Ms: [], p99Ms: [] };
    this.data = { t: series.t, stable: series.stable || { ...empty }, canary: series.canary || { ...empty } };
    if (typeof uPlot === 'undefined') return this.chartBox.replaceChildren(h('p', { text: 'charts unavailable' }));
    const width = Math.max(320, Math.min(1100, this.chartBox.clientWidth || 900));
    const specs = chartSpecs();
    this.chartBox.replaceChildren();
    this.charts = specs.map((spec) => {
      const fig = h('figure', { class: 'chart', 'data-chart': spec.id, 'aria-label': spec.title });
      fig.append(h('figcaption', { text: spec.title }));
      this.chartBox.append(fig);
      const opts = { width, height: 180, series: [{}, ...spec.series], axes: [{}, { label: spec.unit }], legend: { show: true } };
      opts.hooks = { draw: [(u) => this.drawMarks(u)] };
      return { fig, spec, plot: new uPlot(opts, spec.data(this.data), fig), redraw: (r) => 0 };
    });
    for (const c of this.charts) c.redraw = (rebuild) => c.plot.redraw(rebuild);
    this.updateCharts();
  }

  updateCharts() {
    for (const c of this.charts) {
      const data = c.spec.data(this.data);
      c.plot.setData(data);
      const points = data[1].filter((v) => v !== null).length;
      c.fig.setAttribute('data-points', String(points));
    }
  }

  drawMarks(u) {
    const ctx = u.ctx;
    const [min, max] = [u.scales.x.min, u.scales.x.max];
    ctx.save();
    ctx.lineWidth = 2;
    for (const m of this.marks) {
      if (m.sec < min || m.sec > max) continue;
      const x = Math.round(u.valToPos(m.sec, 'x', true));
      ctx.strokeStyle = MARK[m.kind];
      ctx.setLineDash(m.kind === 'step' ? [6, 4] : []);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  }
}

function chartSpecs() {
  const line = (label, color, dash) => ({ label, stroke: color, width: 2, spanGaps: false, ...(dash ? { dash: [5, 4] } : {}) });
  const rate = (p) => p.requests.map((r, i) => (r === null ? null : r > 0 ? (100 * p.errors[i]) / r : 0));
  return [
    { id: 'rps', title: 'Requests per second', unit: 'req/s', series: [line('stable', COLORS.stable), line('canary', COLORS.canary)], data: (d) => [d.t, d.stable.requests, d.canary.requests] },
    { id: 'errors', title: 'Error rate (%)', unit: '%', series: [line('stable', COLORS.stable), line('canary', COLORS.canary)], data: (d) => [d.t, rate(d.stable), rate(d.canary)] },
    {
      id: 'latency',
      title: 'Latency p50 / p99 (ms)',
      unit: 'ms',
      series: [line('stable p50', COLORS.stable, true), line('stable p99', COLORS.stable), line('canary p50', COLORS.canary, true), line('canary p99', COLORS.canary)],
      data: (d) => [d.t, d.stable.p50Ms, d.stable.p99Ms, d.canary.p50Ms, d.canary.p99Ms],
    },
  ];
}

// seq alone is not enough: a restarted server's log counts from 1 again.
const eventKey = (e) => e.seq + ' ' + e.at + ' ' + e.kind;

function markOf(e) {
  const sec = Math.floor(Date.parse(e.at) / 1000);
  if (e.kind === 'step') return { sec, kind: 'step' };
  const v = e.kind === 'analysis' && e.data && e.data.verdict;
  return v ? { sec, kind: v.result } : null;
}

const legend = (pool) => h('span', { class: 'key ' + pool, text: pool });
const markLegend = () => h('span', { class: 'marks', text: 'Lines: dashed purple = step, green = pass, red = fail, grey = inconclusive' });

function targets(pool) {
  if (pool.targets.length === 0) return 'none';
  return pool.targets.map((t) => t.id + ' ' + t.health + (t.ejected ? ' (ejected)' : '')).join(', ');
}

function eventItem(e) {
  const li = h('li', { class: 'ev ' + e.kind }, h('time', { datetime: e.at, text: fmt.time(e.at) }), ' ', h('strong', { text: e.kind }), ' ' + e.message);
  const v = e.kind === 'analysis' && e.data && e.data.verdict;
  if (v) li.append(verdictDetails(v));
  return li;
}

function verdictDetails(v) {
  const num = (x) => (x === null || x === undefined ? '–' : Number(x).toPrecision(3));
  const checks = h(
    'table',
    { class: 'evidence' },
    h('caption', { text: 'Checks' }),
    h('tr', null, ['check', 'route', 'status', 'observed', 'limit', 'p-value', 'note'].map((t) => h('th', { scope: 'col', text: t }))),
    v.checks.map((c) => h('tr', null, [c.name, c.route || '', c.status, num(c.observed), num(c.limit), num(c.pValue), c.note].map((t) => h('td', { text: t })))),
  );
  const pools = h('p', { text: 'canary ' + poolText(v.canary) + ' · stable ' + poolText(v.stable) });
  const routes = (v.routes || []).map((r) => h('p', { text: 'route ' + r.route + ': canary ' + poolText(r.canary) + ' · stable ' + poolText(r.stable) }));
  return h('details', null, h('summary', { text: 'Evidence' }), pools, routes, checks);
}

const poolText = (p) => p.requests + ' req, ' + p.errors + ' errors (' + fmt.rate(p.errorRate) + '), p99 ' + fmt.ms(p.p99Ms);

function timelineOf(rollout, entry) {
  if (!entry) return [h('p', { text: rollout ? 'Rollout ' + rollout.id + ' has no recorded moments yet.' : 'No rollout yet.' })];
  const head = h('p', { text: 'Rollout ' + entry.id + ' (' + entry.strategy + '): ' + entry.phase + (entry.reason ? ' — ' + entry.reason : '') });
  const items = entry.timeline.map((m) => h('li', null, h('time', { datetime: m.at, text: fmt.time(m.at) }), ' ', h('strong', { text: m.kind }), ' at ' + m.weight + '% ' + (m.note || '')));
  const last = rollout && rollout.lastVerdict ? h('div', null, h('p', { text: 'Last verdict: ' + rollout.lastVerdict.result + ' — ' + rollout.lastVerdict.reason }), verdictDetails(rollout.lastVerdict)) : null;
  return [head, h('ol', { class: 'moments' }, items), last];
}

function historyTable(rollouts) {
  if (rollouts.length === 0) return h('p', { text: 'No rollouts yet.' });
  const canary = (c) => (c.targets ? c.targets.join(', ') : c.image + ' ×' + c.count);
  return h(
    'table',
    { class: 'history' },
    h('tr', null, ['id', 'phase', 'canary', 'started', 'ended', 'reason'].map((t) => h('th', { scope: 'col', text: t }))),
    rollouts.map((r) => h('tr', null, [r.id.slice(0, 8), r.phase, canary(r.canary), fmt.time(r.startedAt), r.endedAt ? fmt.time(r.endedAt) : 'running', r.reason || ''].map((t) => h('td', { text: t })))),
  );
}
