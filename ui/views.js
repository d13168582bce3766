// DOM helpers and the overview: one row per service, kept by name and updated in place, at most
// twice a second whatever the number of frames, so 200 services stay cheap to show.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c);
  return el;
}

export const fmt = {
  rps: (v) => (v === null || v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1)),
  rate: (v) => (v === null || v === undefined ? '–' : (v * 100).toFixed(v > 0 && v < 0.001 ? 3 : 2) + '%'),
  ms: (v) => (v === null || v === undefined ? '–' : v >= 100 ? v.toFixed(0) + ' ms' : v.toFixed(1) + ' ms'),
  weight: (v) => (v === null || v === undefined ? '–' : v + '%'),
  time: (iso) => new Date(iso).toLocaleTimeString(),
};

const COLUMNS = [
  ['Service', 'name'],
  ['Canary weight', 'weight'],
  ['Phase', 'phase'],
  ['Step', 'step'],
  ['Stable req/s', 'stable-rps'],
  ['Stable errors', 'stable-err'],
  ['Stable p99', 'stable-p99'],
  ['Canary req/s', 'canary-rps'],
  ['Canary errors', 'canary-err'],
  ['Canary p99', 'canary-p99'],
  ['Healthy targets', 'health'],
];

export class Overview {
  constructor(root) {
    this.rows = new Map();
    this.filter = '';
    this.frame = null;
    this.timer = null;
    const search = h('input', {
      id: 'search',
      type: 'search',
      placeholder: 'name contains…',
      oninput: (e) => {
        this.filter = e.target.value.trim().toLowerCase();
        this.applyFilter();
      },
    });
    this.count = h('span', { class: 'count', role: 'status', 'aria-live': 'polite' });
    this.body = h('tbody');
    const head = h('tr', null, COLUMNS.map(([label]) => h('th', { scope: 'col', text: label })));
    root.replaceChildren(
      h('h2', { text: 'Services' }),
      h('div', { class: 'toolbar' }, h('label', { for: 'search', text: 'Filter services' }), search, this.count),
      h('div', { class: 'scroll' }, h('table', { class: 'services', 'aria-label': 'Services' }, h('thead', null, head), this.body)),
      h('p', { class: 'hint', text: 'Figures over the last 10 seconds.' }),
    );
  }

  /** Keeps the newest frame; the DOM follows at most every 500 ms. */
  push(frame) {
    this.frame = frame;
    if (this.timer === null) this.timer = setTimeout(() => this.render(), 500);
  }

  render() {
    this.timer = null;
    const f = this.frame;
    if (!f) return;
    const names = new Set();
    for (const s of f.services) {
      names.add(s.name);
      this.row(s);
    }
    // A service removed by a reload leaves the list.
    for (const [name, r] of this.rows) if (!names.has(name)) (r.tr.remove(), this.rows.delete(name));
    this.applyFilter();
  }

  row(s) {
    let r = this.rows.get(s.name);
    if (!r) {
      const cells = {};
      const tr = h('tr', { 'data-service': s.name });
      for (const [, key] of COLUMNS) {
        const numeric = !['name', 'phase', 'step'].includes(key);
        const td = key === 'name' ? h('th', { scope: 'row' }) : h('td', { 'data-col': key, class: numeric ? 'num' : null });
        if (key === 'name') td.append(h('a', { href: '#/service/' + encodeURIComponent(s.name), text: s.name }));
        cells[key] = td;
        tr.append(td);
      }
      r = { tr, cells };
      this.rows.set(s.name, r);
      this.body.append(tr);
    }
    const rec = s.recent || {};
    const set = (k, v) => {
      if (r.cells[k].textContent !== v) r.cells[k].textContent = v;
    };
    set('weight', fmt.weight(s.weight));
    set('phase', s.phase || 'idle');
    set('step', s.step === null ? '–' : s.step + 1 + '/' + s.steps);
    for (const pool of ['stable', 'canary']) {
      const p = rec[pool];
      set(pool + '-rps', fmt.rps(p ? p.rps : null));
      set(pool + '-err', fmt.rate(p ? p.errorRate : null));
      set(pool + '-p99', fmt.ms(p && p.rps > 0 ? p.p99Ms : null));
    }
    set('health', s.health.stable.healthy + '/' + s.health.stable.total + ' · ' + s.health.canary.healthy + '/' + s.health.canary.total);
    r.tr.className = s.phase === 'rolling-back' || s.phase === 'rolled-back' || s.phase === 'aborted' ? 'bad' : '';
  }

  applyFilter() {
    let shown = 0;
    for (const [name, r] of this.rows) {
      const show = this.filter === '' || name.toLowerCase().includes(this.filter);
      r.tr.hidden = !show;
      if (show) shown++;
    }
    this.count.textContent = shown + ' of ' + this.rows.size + ' services';
  }
}
