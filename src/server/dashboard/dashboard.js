// mtgan dashboard: polls the server's read-only JSON routes and draws one card per task,
// the edges, the scheduler and the event log. No dependencies and no network beyond this
// server; every string from the server goes through textContent or setAttribute, never
// innerHTML, so a task id cannot inject markup (the CSP forbids inline script anyway).
'use strict';

(function () {
  const POLL_MS = 2000;       // one round of four small GETs; history comes incrementally
  const SAMPLE_MS = 5000;     // a task's sample grid is refetched at most this often, and only when it changed
  const SVG = 'http://www.w3.org/2000/svg';

  const state = { since: 0, capacity: 0, cols: null, series: new Map(), cards: new Map(), events: [] };

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  async function getJSON(url) {
    const r = await fetch(url, { cache: 'no-store' });
    if (!r.ok) throw new Error(url.split('?')[0] + ': HTTP ' + r.status);
    return r.json();
  }

  function fmt(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    return Number(v).toFixed(digits === undefined ? 3 : digits);
  }

  function fmtSteps(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) + 'M';
    if (v >= 1e3) return (v / 1e3).toFixed(v >= 1e4 ? 0 : 1) + 'k';
    return String(Math.round(v));
  }

  function fmtBytes(b) {
    if (b >= 1e9) return (b / 1e9).toFixed(2) + ' GB';
    if (b >= 1e6) return (b / 1e6).toFixed(1) + ' MB';
    if (b >= 1e3) return (b / 1e3).toFixed(1) + ' kB';
    return b + ' B';
  }

  function fmtClock(s) {
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const mm = String(m).padStart(2, '0'), ss = String(sec).padStart(2, '0');
    return h > 0 ? h + ':' + mm + ':' + ss : m + ':' + ss;
  }

  // "Nice" tick values (1, 2, 5 x 10^k) covering [lo, hi].
  function ticks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map(m => m * p).find(s => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  // One SVG line chart. series: [{name, cls, pts: [[x, y], ...]}]; opts: {ylabel, ymin, ymax, refs}.
  function drawChart(fig, series, opts) {
    const W = 360, H = 150, L = 44, R = 8, T = 8, B = 30;
    const svg = svgEl('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    const all = series.flatMap(s => s.pts);
    let points = 0;
    for (const s of series) points = Math.max(points, s.pts.length);
    fig.setAttribute('data-points', String(points));
    svg.setAttribute('aria-label', fig.querySelector('.title').textContent);
    if (all.length === 0) {
      svg.appendChild(svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, 'waiting for data'));
      fig.querySelector('svg').replaceWith(svg);
      return;
    }
    let x0 = Math.min(...all.map(p => p[0])), x1 = Math.max(...all.map(p => p[0]));
    if (x1 === x0) x1 = x0 + 1;
    const refs = opts.refs || [];
    let y0 = opts.ymin !== undefined ? opts.ymin : Math.min(...all.map(p => p[1]), ...refs.map(r => r.y));
    let y1 = opts.ymax !== undefined ? opts.ymax : Math.max(...all.map(p => p[1]), ...refs.map(r => r.y));
    if (opts.ymax === undefined) y1 += (y1 - y0) * 0.05;
    if (!(y1 > y0)) y1 = y0 + 1;
    const sx = x => L + (x - x0) / (x1 - x0) * (W - L - R);
    const sy = y => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
    for (const v of ticks(y0, y1, 4)) {
      svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: sy(v), y2: sy(v), class: 'grid' }));
      svg.appendChild(svgEl('text', { x: L - 4, y: sy(v) + 3, 'text-anchor': 'end', class: 'tick' },
        Math.abs(v) >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3)))));
    }
    for (const v of ticks(x0, x1, 5)) {
      svg.appendChild(svgEl('line', { x1: sx(v), x2: sx(v), y1: H - B, y2: H - B + 3, class: 'axis' }));
      svg.appendChild(svgEl('text', { x: sx(v), y: H - B + 12, 'text-anchor': 'middle', class: 'tick' }, fmtSteps(v)));
    }
    svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }));
    svg.appendChild(svgEl('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }));
    svg.appendChild(svgEl('text', { x: (L + W - R) / 2, y: H - 3, 'text-anchor': 'middle', class: 'label' },
      'global training steps'));
    svg.appendChild(svgEl('text', { x: 10, y: (T + H - B) / 2, 'text-anchor': 'middle', class: 'label',
      transform: 'rotate(-90 10 ' + (T + H - B) / 2 + ')' }, opts.ylabel));
    for (const r of refs) {
      svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: sy(r.y), y2: sy(r.y), class: 'line ' + r.cls,
        'stroke-dasharray': '4 3', 'stroke-width': '1' }));
    }
    for (const s of series) {
      if (s.pts.length === 0) continue;
      if (s.pts.length === 1) {
        svg.appendChild(svgEl('circle', { cx: sx(s.pts[0][0]), cy: sy(s.pts[0][1]), r: 2.5, class: 'dot ' + s.cls }));
        continue;
      }
      const d = s.pts.map((p, i) => (i ? 'L' : 'M') + sx(p[0]).toFixed(1) + ' ' + sy(p[1]).toFixed(1)).join(' ');
      svg.appendChild(svgEl('path', { d: d, class: 'line ' + s.cls }));
    }
    fig.querySelector('svg').replaceWith(svg);
  }

  function makeChart(kind, title, legend) {
    const fig = el('figure', { class: 'chart', 'data-chart': kind, 'data-points': '0' });
    fig.appendChild(el('p', { class: 'title' }, title));
    fig.appendChild(svgEl('svg'));
    const ul = el('ul', { class: 'legend' });
    for (const [cls, name] of legend) ul.appendChild(el('li', { class: cls }, name));
    fig.appendChild(ul);
    return fig;
  }

  const METRICS = [['fidelity', 3], ['fd', 2], ['precision', 3], ['recall', 3], ['coverage', 3]];

  function makeCard(id) {
    const card = el('article', { class: 'card', 'data-task': id });
    const h = el('h3');
    h.appendChild(el('span', { class: 'task-id' }, id));
    const badges = el('span');
    h.appendChild(badges);
    card.appendChild(h);
    const steps = el('p', { class: 'steps' });
    card.appendChild(steps);
    const img = el('img', { class: 'sample', alt: 'samples of ' + id });
    const note = el('p', { class: 'sample-note' });
    img.addEventListener('load', () => {
      if (img.naturalWidth > 0) img.setAttribute('data-loaded', '1');
      note.textContent = '';
    });
    img.addEventListener('error', () => {
      img.removeAttribute('data-loaded');
      note.textContent = 'no sample grid (this dataset has no images, or the task is unavailable)';
    });
    card.appendChild(img);
    card.appendChild(note);
    const table = el('table', { class: 'metrics' });
    const cells = {};
    const head = el('tr');
    head.appendChild(el('th', {}, ''));
    for (const [m] of METRICS) head.appendChild(el('th', {}, m === 'fd' ? 'FD' : m));
    table.appendChild(head);
    for (const row of ['model', 'ceiling']) {
      const tr = el('tr');
      tr.appendChild(el('th', {}, row));
      for (const [m] of METRICS) {
        const td = el('td', {}, '–');
        cells[row + '.' + m] = td;
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
    card.appendChild(table);
    const charts = {
      quality: makeChart('quality', 'Quality over training',
        [['s1', 'fidelity'], ['s2', 'precision'], ['s3', 'recall'], ['s4', 'coverage']]),
      fd: makeChart('fd', 'Fréchet distance (lower is better)', [['s5', 'FD'], ['s3', 'real-vs-real ceiling (dashed)']]),
      loss: makeChart('loss', 'Training losses (mean over the last updates)', [['s1', 'discriminator'], ['s2', 'generator']]),
    };
    for (const k in charts) card.appendChild(charts[k]);
    return { card, badges, steps, img, note, cells, charts, imgVersion: -1, imgAt: -Infinity };
  }

  function badge(cls, text) { return el('span', { class: 'badge ' + cls }, text); }

  function col(name) { return state.cols ? state.cols.indexOf(name) : -1; }

  function updateCard(c, t) {
    const bs = [];
    if (t.reached_s !== undefined) bs.push(badge('reached', 'reached target at ' + fmt(t.reached_s, 1) + ' s'));
    else if (!t.active) bs.push(badge('budget', 'stopped (step budget)'));
    else bs.push(badge('training', 'training'));
    if (t.spilled) bs.push(badge('spilled', 'spilled to disk'));
    c.badges.replaceChildren(...bs);
    const q = t.quality;
    c.steps.textContent = fmtSteps(t.steps) + ' steps · model v' + t.version +
      (q ? ' · judged at ' + fmtSteps(q.steps) + ' steps' : ' · not judged yet');
    for (const [m, d] of METRICS) {
      c.cells['model.' + m].textContent = q ? fmt(q[m], d) : '–';
      c.cells['ceiling.' + m].textContent = t.ceiling ? fmt(t.ceiling[m], d) : '–';
    }
    const now = Date.now();
    if (t.version !== c.imgVersion && now - c.imgAt >= SAMPLE_MS) {
      c.imgVersion = t.version;
      c.imgAt = now;
      c.img.src = '/v1/tasks/' + encodeURIComponent(t.id) + '/samples?n=48&format=png&seed=1&v=' + t.version;
    }
    const rows = state.series.get(t.id) || [];
    const iStep = col('step'), iQ = col('q_step');
    const quality = rows.filter((r, i) => r[iQ] !== null && (i === 0 || r[iQ] !== rows[i - 1][iQ]));
    const pick = (list, name) => list.map(r => [r[iQ], r[col(name)]]).filter(p => p[1] !== null && isFinite(p[1]));
    drawChart(c.charts.quality, [
      { cls: 's1', pts: pick(quality, 'fidelity') }, { cls: 's2', pts: pick(quality, 'precision') },
      { cls: 's3', pts: pick(quality, 'recall') }, { cls: 's4', pts: pick(quality, 'coverage') },
    ], { ylabel: 'score (0 to 1)', ymin: 0, ymax: 1 });
    const refs = t.ceiling && isFinite(t.ceiling.fd) ? [{ y: t.ceiling.fd, cls: 's3' }] : [];
    drawChart(c.charts.fd, [{ cls: 's5', pts: pick(quality, 'fd') }], { ylabel: 'FD', ymin: 0, refs: refs });
    const losses = rows.filter(r => r[iStep] > 0);
    const lp = name => losses.map(r => [r[iStep], r[col(name)]]).filter(p => p[1] !== null && isFinite(p[1]));
    drawChart(c.charts.loss, [{ cls: 's1', pts: lp('loss_d') }, { cls: 's2', pts: lp('loss_g') }], { ylabel: 'loss' });
  }

  function mergeHistory(h) {
    if (h.seq < state.since) {         // the server restarted: start over
      state.series.clear();
      state.events = [];
    }
    state.cols = h.columns;
    state.capacity = h.capacity;
    for (const id in h.tasks) {
      let rows = state.series.get(id);
      if (!rows) state.series.set(id, rows = []);
      for (const r of h.tasks[id].points) {
        // The server moves its newest point forward until the next one starts (history.h).
        if (rows.length && rows[rows.length - 1][0] >= r[0]) continue;
        rows.push(r);
      }
      // Keep the page's memory bounded like the server's: thin to every other point.
      if (rows.length > 2 * state.capacity) state.series.set(id, rows.filter((r, i) => i % 2 === 0 || i === rows.length - 1));
    }
    for (const e of h.events) state.events.push(e);
    if (state.events.length > 200) state.events.splice(0, state.events.length - 200);
    state.since = h.seq;
  }

  function renderSummary(st, tasks) {
    const done = tasks.filter(t => t.reached_s !== undefined || !t.active).length;
    const items = [
      ['protocol', st.protocol], [st.protocol === 'sgda' ? 'step' : 'round', String(st.round)],
      ['tasks done', done + ' / ' + tasks.length], ['edges alive', String(st.edges_alive)],
      ['elapsed', fmtClock(st.elapsed_s)], ['uploaded', fmtBytes(st.bytes_in)], ['downloaded', fmtBytes(st.bytes_out)],
      ['server RSS', fmtBytes(st.rss_bytes)], ['state', st.done ? 'done' : 'training'],
    ];
    const dl = document.getElementById('summary');
    dl.replaceChildren(...items.map(([k, v]) => {
      const d = el('div');
      d.appendChild(el('dt', {}, k));
      d.appendChild(el('dd', {}, v));
      return d;
    }));
  }

  function renderTasks(tasks) {
    const box = document.getElementById('tasks');
    const seen = new Set();
    for (const t of tasks) {
      seen.add(t.id);
      let c = state.cards.get(t.id);
      if (!c) {
        c = makeCard(t.id);
        state.cards.set(t.id, c);
        box.appendChild(c.card);
      }
      updateCard(c, t);
    }
    for (const [id, c] of state.cards) {
      if (!seen.has(id)) {               // deleted through the API
        c.card.remove();
        state.cards.delete(id);
      }
    }
  }

  function renderEdges(ed) {
    const rows = ed.edges.map(e => {
      const tr = el('tr', { 'data-edge': e.id });
      const assigned = (e.assigned || []).map(a => a.task + ' ×' + a.steps + (a.done ? ' ✓' : '')).join(', ');
      const cells = [
        e.id, e.alive ? 'alive' : 'expired', e.tasks.join(', '), assigned || '–',
        e.step_ms > 0 ? fmt(e.step_ms, 1) + ' ms' : '–',
        e.last_update_s >= 0 ? fmt(e.last_update_s, 1) + ' s ago' : 'never',
        fmtBytes(e.bytes_up), String(e.updates),
      ];
      cells.forEach((v, i) => tr.appendChild(el('td', i === 1 && !e.alive ? { class: 'dead' } : {}, v)));
      return tr;
    });
    document.querySelector('#edges tbody').replaceChildren(...rows);
  }

  function renderSched(st, sc, ed) {
    const items = [
      ['protocol', st.protocol], ['policy', sc.policy], ['local steps', String(sc.local_steps)],
      ['round deadline', sc.round_deadline_ms + ' ms'], ['priority', sc.priority ? 'on' : 'off'],
      ['aggregation', ed.aggregation], ['staleness bound', String(ed.staleness_bound)],
      [st.protocol === 'sgda' ? 'step' : 'round', String(st.round)],
      ['updates', st.updates_accepted + ' accepted, ' + st.updates_rejected + ' rejected'],
    ];
    const dl = document.getElementById('sched');
    dl.replaceChildren(...items.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  }

  function renderEvents() {
    const list = state.events.slice(-50).reverse().map(e => {
      const li = el('li', { 'data-kind': e.kind });
      li.appendChild(el('time', {}, fmtClock(e.t_s)));
      li.appendChild(document.createTextNode(e.text));
      return li;
    });
    document.getElementById('events').replaceChildren(...list);
  }

  async function poll() {
    const conn = document.getElementById('conn');
    try {
      const [st, hist, ed, sc] = await Promise.all([
        getJSON('/v1/status'), getJSON('/v1/history?since=' + state.since), getJSON('/v1/edges'), getJSON('/v1/scheduler'),
      ]);
      mergeHistory(hist);
      const tasks = Object.keys(st.tasks).map(k => st.tasks[k]);
      renderSummary(st, tasks);
      renderTasks(tasks);
      renderEdges(ed);
      renderSched(st, sc, ed);
      renderEvents();
      conn.textContent = 'updated ' + new Date().toLocaleTimeString();
      conn.classList.remove('bad');
    } catch (e) {
      conn.textContent = 'cannot reach the server (' + e.message + '); retrying';
      conn.classList.add('bad');
    }
    setTimeout(poll, document.hidden ? POLL_MS * 5 : POLL_MS);
  }

  poll();
})();
