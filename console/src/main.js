// Rewind's web console: plain DOM, hash routes, one chart library (uPlot).
//   #/              clusters
//   #/cluster/ID    one cluster: activity chart over its window, backtracks and events marked;
//                   pick a moment → preview (as-of query, diff against now: preview_extensions.js)
//                   → backtrack, clone, or restore a table there, with progress.
// Every value from the server goes into the page as text (textContent), never as HTML.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import * as api from './api.js';
import { previewExtensions } from './preview_extensions.js';
import { h, iso } from './dom.js';

const app = document.getElementById('app');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let timers = [];
let chart = null;

// ---------- small helpers ----------

const clock = (ms) => (ms === null || ms === undefined ? '—' : new Date(ms).toISOString().slice(11, 19));
function duration(s) {
  if (s === null || s === undefined) return '—';
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / (1 << 30)).toFixed(2)} GiB`;
}
// Decimal units for the chart's axis, where ticks fall on powers of ten.
function siBytes(n) {
  for (const [f, u] of [[1e12, 'TB'], [1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB']]) {
    if (n >= f) return `${+(n / f).toFixed(1)} ${u}`;
  }
  return `${n} B`;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function every(ms, fn) {
  const t = setInterval(fn, ms);
  timers.push(t);
}
function clearPage() {
  for (const t of timers) clearInterval(t);
  timers = [];
  if (chart) {
    chart.destroy();
    chart = null;
  }
  app.replaceChildren();
}

function statusBadge(status) {
  return h('span', { class: `badge s-${status}` }, status);
}

// A failed call: back to the login page if the session is gone, else the message in `where`.
function failed(err, where) {
  if (err instanceof api.ApiError && err.status === 401) {
    showLogin('Your session ended: log in again.');
    return;
  }
  if (where) where.textContent = err.message;
}

// ---------- login ----------

function showLogin(note) {
  clearPage();
  nav.hidden = true;
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert' }, note || '');
  const keyId = h('input', {
    id: 'access-key-id', name: 'access_key_id', autocomplete: 'username', required: true,
    spellcheck: 'false', placeholder: 'AKIA…',
  });
  const secret = h('input', {
    id: 'secret', name: 'secret_access_key', type: 'password', autocomplete: 'current-password',
    required: true,
  });
  const submit = h('button', { id: 'login-submit', type: 'submit' }, 'Log in');
  const form = h('form', { id: 'login-form', class: 'card login' },
    h('h1', {}, 'Log in'),
    h('p', { class: 'hint' },
      'Use the access key of the [rewind] profile in DATA_DIR/credentials ',
      '(aws_access_key_id and aws_secret_access_key).'),
    h('label', {}, 'Access key id', keyId),
    h('label', {}, 'Secret access key', secret),
    submit, error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      await api.login(keyId.value.trim(), secret.value);
      secret.value = '';
      await afterLogin();
    } catch (err) {
      error.textContent = err.message;
      secret.value = '';
    } finally {
      submit.disabled = false;
    }
  });
  app.append(form);
  keyId.focus();
}

async function afterLogin() {
  const s = await api.session();
  who.textContent = s.access_key_id;
  nav.hidden = false;
  route();
}

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await api.logout();
  } catch {
    // Logged out or not, the page goes back to the login form.
  }
  location.hash = '#/';
  showLogin('Logged out.');
});

// ---------- clusters ----------

async function showClusters() {
  clearPage();
  const error = h('p', { class: 'error', role: 'alert' });
  const body = h('tbody');
  const table = h('table', { id: 'clusters', class: 'grid' },
    h('thead', {}, h('tr', {},
      ['Cluster', 'Status', 'Endpoint', 'Writer', 'Window target / actual', 'Earliest backtrack time']
        .map((c) => h('th', {}, c)))),
    body);
  const empty = h('p', { class: 'hint', hidden: true },
    'No DB clusters yet: create one with `rewind create` or aws rds create-db-cluster.');
  app.append(h('h1', {}, 'DB clusters'), error, table, empty);

  async function load() {
    try {
      const list = await api.clusters();
      error.textContent = '';
      empty.hidden = list.length > 0;
      body.replaceChildren(...list.map((c) => h('tr', { dataset: { cluster: c.id } },
        h('td', {}, h('a', { href: `#/cluster/${encodeURIComponent(c.id)}` }, c.id)),
        h('td', {}, statusBadge(c.status)),
        h('td', { class: 'mono' }, c.endpoint ? `${c.endpoint}:${c.port}` : '—'),
        h('td', { class: 'mono' }, c.writer ?? '—'),
        h('td', {}, c.backtrack_window_s > 0
          ? `${duration(c.backtrack_window_s)} / ${duration(c.backtrack_window_actual_s)}`
          : 'backtrack off',
          c.backtrack_window_alert ? h('span', { class: 'badge s-failed' }, 'cut by budget') : null),
        h('td', { class: 'mono' }, iso(c.earliest_backtrack_ms)))));
    } catch (err) {
      failed(err, error);
    }
  }
  await load();
  every(5000, load);
}

// ---------- one cluster ----------

// Runs of activity (non-zero steps; a single quiet step inside a run does not split it),
// newest first: what a user looks for when hunting the moment something went wrong.
function bursts(points, stepS) {
  const out = [];
  let cur = null;
  for (const [t, b, r] of points) {
    if (b > 0 || r > 0) {
      if (cur && t - cur.endMs <= stepS * 1000) {
        cur.endMs = t + stepS * 1000;
        cur.bytes += b;
        cur.records += r;
      } else {
        cur = { startMs: t, endMs: t + stepS * 1000, bytes: b, records: r };
        out.push(cur);
      }
    }
  }
  return out.reverse();
}

// Draws the window's edge, backtracks, events and the picked moment over the chart.
function markersPlugin(state) {
  return {
    hooks: {
      draw: [(u) => {
        const { ctx } = u;
        const { top, height, left, width } = u.bbox;
        const x = (ms) => u.valToPos(ms / 1000, 'x', true);
        const inside = (px) => px >= left && px <= left + width;
        ctx.save();
        if (state.earliestMs) {
          const e = x(state.earliestMs);
          if (e > left) {
            ctx.fillStyle = 'rgba(120,120,120,0.15)';
            ctx.fillRect(left, top, Math.min(e, left + width) - left, height);
          }
        }
        for (const b of state.backtracks) {
          if (!b.to_ms) continue;
          const a = x(b.to_ms);
          const z = b.from_ms ? x(b.from_ms) : a;
          ctx.fillStyle = 'rgba(124,58,237,0.12)';
          ctx.fillRect(Math.max(a, left), top, Math.max(0, Math.min(z, left + width) - Math.max(a, left)), height);
          if (inside(a)) {
            ctx.strokeStyle = '#7c3aed';
            ctx.lineWidth = 2;
            ctx.beginPath(); ctx.moveTo(a, top); ctx.lineTo(a, top + height); ctx.stroke();
          }
        }
        ctx.setLineDash([4, 4]);
        ctx.strokeStyle = '#d97706';
        ctx.lineWidth = 1.5;
        for (const ev of state.events) {
          const p = x(ev.date_ms);
          if (!inside(p)) continue;
          ctx.beginPath(); ctx.moveTo(p, top); ctx.lineTo(p, top + height); ctx.stroke();
        }
        ctx.setLineDash([]);
        if (state.pickedMs) {
          const p = x(state.pickedMs);
          if (inside(p)) {
            ctx.strokeStyle = '#dc2626';
            ctx.lineWidth = 2;
            ctx.beginPath(); ctx.moveTo(p, top); ctx.lineTo(p, top + height); ctx.stroke();
          }
        }
        ctx.restore();
      }],
    },
  };
}

// On a log axis only whole powers of ten get a label (the ticks between would overlap).
function decade(v, log) {
  if (!log) return true;
  const e = Math.log10(v);
  return Math.abs(e - Math.round(e)) < 1e-9;
}

// The chart's data from activity points: on a log scale a zero is no bar (null), not -infinity.
function chartData(points, log) {
  const v = (n) => (log && n <= 0 ? null : n);
  return [points.map((p) => p[0] / 1000), points.map((p) => v(p[1])), points.map((p) => v(p[2]))];
}

function makeChart(container, state, onPick) {
  const width = Math.max(480, container.clientWidth || 900);
  // Log scales by default: a DROP's few records stay visible beside a bulk load's thousands.
  const y = state.log ? { distr: 3, log: 10 } : { auto: true };
  const opts = {
    width,
    height: 260,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { ...y }, rec: { ...y } },
    axes: [
      {},
      { label: 'bytes written', size: 70, values: (u, vals) => vals.map((v) => (decade(v, state.log) ? siBytes(v) : '')) },
      { scale: 'rec', side: 1, label: 'change records', grid: { show: false },
        values: (u, vals) => vals.map((v) => (decade(v, state.log) ? v.toLocaleString('en-US') : '')) },
    ],
    series: [
      {},
      { label: 'bytes', stroke: '#2563eb', fill: 'rgba(37,99,235,0.25)', paths: uPlot.paths.bars({ size: [0.9, 40] }),
        value: (u, v) => (v === null ? '—' : bytes(v)) },
      { label: 'change records', stroke: '#059669', scale: 'rec', width: 1.5 },
    ],
    plugins: [markersPlugin(state)],
  };
  const u = new uPlot(opts, chartData(state.points, state.log), container);
  u.over.addEventListener('click', (e) => {
    const t = u.posToVal(e.offsetX, 'x');
    if (Number.isFinite(t)) onPick(Math.round(t * 1000));
  });
  return u;
}

async function showCluster(name) {
  clearPage();
  const state = { earliestMs: null, backtracks: [], events: [], pickedMs: null, stepS: 1, points: [], log: true };
  const error = h('p', { class: 'error', role: 'alert' });
  const title = h('h1', {}, name, ' ', h('span', { id: 'cluster-status' }));
  const summary = h('dl', { class: 'summary' });
  const chartBox = h('div', { id: 'chart', class: 'chart' });
  const legend = h('p', { class: 'legend' },
    h('span', { class: 'key k-event' }), 'event ',
    h('span', { class: 'key k-backtrack' }), 'backtrack (the undone span shaded) ',
    h('span', { class: 'key k-pick' }), 'picked moment ',
    h('span', { class: 'key k-out' }), 'outside the window. Click the chart to pick a moment. ',
    h('label', { class: 'inline' }, h('input', { id: 'log-scale', type: 'checkbox', checked: true, onchange: (e) => {
      state.log = e.target.checked;
      chart.destroy();
      chart = makeChart(chartBox, state, (ms) => pick(ms));
    } }), 'log scale'));
  const changes = h('ol', { id: 'changes', class: 'changes' });
  const events = h('ol', { id: 'events', class: 'events' });
  const backtracks = h('tbody');
  const preview = h('aside', { id: 'preview', class: 'card preview', hidden: true });

  app.append(
    h('p', {}, h('a', { href: '#/' }, '← all clusters')),
    title, error, summary,
    h('section', { class: 'card' }, h('h2', {}, 'Activity over the backtrack window'), chartBox, legend),
    h('div', { class: 'cols' },
      h('section', { class: 'card' }, h('h2', {}, 'Bursts of writes (newest first)'),
        h('p', { class: 'hint' }, 'Each run of writes; “Pick just before” selects the quiet moment before it began.'),
        changes),
      preview),
    h('div', { class: 'cols' },
      h('section', { class: 'card' }, h('h2', {}, 'Events'), events),
      h('section', { class: 'card' }, h('h2', {}, 'Backtracks'),
        h('table', { id: 'backtracks', class: 'grid' },
          h('thead', {}, h('tr', {}, ['Backtracked to', 'From', 'Status'].map((c) => h('th', {}, c)))),
          backtracks))));

  chart = makeChart(chartBox, state, (ms) => pick(ms));
  let current = null;  // the cluster as last loaded

  function pick(ms) {
    state.pickedMs = ms;
    chart.redraw(false);
    renderPreview();
  }

  function renderPreview() {
    const c = current;
    if (!c || !state.pickedMs) return;
    preview.hidden = false;
    const ms = state.pickedMs;
    const point = state.points.find(([t]) => t <= ms && ms < t + state.stepS * 1000);
    const near = state.events.filter((e) => Math.abs(e.date_ms - ms) <= 60_000);
    const actionError = h('p', { id: 'action-error', class: 'error', role: 'alert' });
    const progress = h('div', { id: 'progress', class: 'progress', hidden: true });
    const moment = h('input', { id: 'moment', class: 'mono', value: iso(ms), spellcheck: 'false', size: 28 });
    moment.addEventListener('change', () => {
      const t = Date.parse(moment.value);
      if (Number.isFinite(t)) pick(t);
      else actionError.textContent = 'Not a time: write it as 2026-12-07T05:30:00.000Z (UTC).';
    });
    const inWindow = c.earliest_backtrack_ms !== null && ms >= c.earliest_backtrack_ms && ms <= Date.now();
    const backtrackBtn = h('button', { id: 'do-backtrack', type: 'button', class: 'danger', disabled: !(c.backtrack_window_s > 0) },
      'Backtrack the cluster to this moment');
    const cloneId = h('input', { id: 'clone-id', class: 'mono', value: `${c.id}-at-${clock(ms).replaceAll(':', '')}`.slice(0, 63), spellcheck: 'false' });
    const cloneBtn = h('button', { id: 'do-clone', type: 'button' }, 'Clone at this moment');

    backtrackBtn.addEventListener('click', async () => {
      actionError.textContent = '';
      if (!window.confirm(`Backtrack ${c.id} to ${iso(state.pickedMs)}? Every connection is dropped and every later write of every table is undone.`)) return;
      backtrackBtn.disabled = cloneBtn.disabled = true;
      try {
        const { backtrack } = await api.backtrack(c.id, iso(state.pickedMs));
        await followBacktrack(c.id, backtrack, progress);
      } catch (err) {
        if (progress.dataset.state === 'running') progress.dataset.state = 'failed';
        failed(err, actionError);
      } finally {
        backtrackBtn.disabled = cloneBtn.disabled = false;
      }
    });
    cloneBtn.addEventListener('click', async () => {
      actionError.textContent = '';
      backtrackBtn.disabled = cloneBtn.disabled = true;
      try {
        const newId = cloneId.value.trim();
        await api.clone(c.id, newId, iso(state.pickedMs));
        await followClone(newId, progress);
      } catch (err) {
        if (progress.dataset.state === 'running') progress.dataset.state = 'failed';
        failed(err, actionError);
      } finally {
        backtrackBtn.disabled = cloneBtn.disabled = false;
      }
    });

    // The as-of view of this moment (README "The past without rewinding" / "What changed" /
    // "One table back, live"): an as-of query, the diff summary against now and restore-table,
    // rendered by previewExtensions (preview_extensions.js).
    const asOf = h('section', { id: 'preview-asof', class: 'asof', 'data-slot': 'asof' });
    for (const ext of previewExtensions) ext.render(asOf, { cluster: c, atMs: ms, api });

    preview.replaceChildren(
      h('h2', {}, 'Preview of the picked moment'),
      h('label', {}, 'Moment (UTC)', moment),
      h('dl', { class: 'summary' },
        h('dt', {}, 'In the window'), h('dd', {}, inWindow ? 'yes' : `no: the window holds ${iso(c.earliest_backtrack_ms)} to now`),
        h('dt', {}, 'Written in that step'), h('dd', {}, point ? `${bytes(point[1])}, ${point[2]} change records (${state.stepS} s step)` : '—'),
        h('dt', {}, 'Events within a minute'), h('dd', {}, near.length ? near.map((e) => `${clock(e.date_ms)} ${e.message}`).join('; ') : 'none')),
      asOf,
      h('div', { class: 'actions' },
        backtrackBtn,
        h('span', { class: 'clone' }, h('label', {}, 'New cluster', cloneId), cloneBtn)),
      actionError, progress);
  }

  function renderData(detail, act) {
    const c = detail.cluster;
    current = c;
    // Stop (when available) or start (when stopped), as the RDS console offers; the page then
    // follows the status until it settles.
    const lifecycle = c.status === 'available' || c.status === 'stopped'
      ? h('button', { id: 'do-stop-start', type: 'button', onclick: async (e) => {
        if (c.status === 'available' && !window.confirm(`Stop ${c.id}? Its mariadbd stops and every connection is dropped until it is started again.`)) return;
        e.target.disabled = true;
        try {
          await (c.status === 'available' ? api.stopCluster(c.id) : api.startCluster(c.id));
          await followStatus(c.status === 'available' ? 'stopped' : 'available');
        } catch (err) {
          failed(err, error);
        }
      } }, c.status === 'available' ? 'Stop' : 'Start')
      : null;
    document.getElementById('cluster-status').replaceChildren(statusBadge(c.status), ' ', lifecycle ?? '');
    summary.replaceChildren(
      h('dt', {}, 'Endpoint'), h('dd', { class: 'mono' }, c.endpoint ? `${c.endpoint}:${c.port}` : '—'),
      h('dt', {}, 'Writer'), h('dd', { class: 'mono' }, c.writer ?? '—',
        ...detail.instances.filter((i) => i.id === c.writer).map((i) => [' ', statusBadge(i.status)])),
      h('dt', {}, 'Backtrack window'), h('dd', {}, c.backtrack_window_s > 0
        ? `target ${duration(c.backtrack_window_s)}, actual ${duration(c.backtrack_window_actual_s)}` : 'off'),
      h('dt', {}, 'Earliest backtrack time'), h('dd', { class: 'mono', id: 'earliest' }, iso(c.earliest_backtrack_ms)),
      h('dt', {}, 'Engine'), h('dd', {}, `${c.engine} (MariaDB ${c.engine_version})`),
      c.source_cluster ? [h('dt', {}, 'Cloned from'), h('dd', {}, c.source_cluster)] : []);
    state.backtracks = detail.backtracks;
    state.events = detail.events;
    backtracks.replaceChildren(...detail.backtracks.slice().reverse().map((b) => h('tr', {},
      h('td', { class: 'mono' }, iso(b.to_ms)), h('td', { class: 'mono' }, iso(b.from_ms)),
      h('td', {}, statusBadge(b.status), b.message ? ` ${b.message}` : ''))));
    events.replaceChildren(...detail.events.slice().reverse().slice(0, 30).map((e) =>
      h('li', {}, h('span', { class: 'mono' }, clock(e.date_ms)), ' ',
        e.source_type === 'db-instance' ? `${e.source_id}: ` : '', e.message)));
    if (act) {
      state.earliestMs = act.earliest_ms;
      state.stepS = act.step_s;
      state.points = act.points;
      chart.setData(chartData(act.points, state.log));
      const list = bursts(act.points, act.step_s).slice(0, 12);
      changes.replaceChildren(...list.map((b) => h('li', { dataset: { startMs: b.startMs, endMs: b.endMs } },
        h('span', { class: 'mono' }, `${clock(b.startMs)}–${clock(b.endMs)}`), ` ${bytes(b.bytes)}, ${b.records} records `,
        h('button', { type: 'button', class: 'pick-before', onclick: () => pick(b.startMs - Math.round(act.step_s * 500)) }, 'Pick just before'))));
      if (!list.length) changes.append(h('li', { class: 'hint' }, 'No writes in the window.'));
    } else {
      chart.redraw(false);
    }
  }

  async function load() {
    try {
      const detail = await api.cluster(name);
      let act = null;
      try {
        act = await api.activity(name);
      } catch (err) {
        if (err instanceof api.ApiError && err.status === 401) throw err;
        error.textContent = `Activity: ${err.message}`;
      }
      if (act) error.textContent = '';
      renderData(detail, act);
      chartBox.dataset.loaded = 'true';
    } catch (err) {
      failed(err, error);
    }
  }

  // Reloads the page's data until the cluster's status is `want` (a stop or start settling),
  // or leaves a status of neither kind (a start rolled back, a failure).
  async function followStatus(want) {
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 500));
      await load();
      const st = current && current.status;
      if (st === want || !['stopping', 'starting'].includes(st)) return;
    }
  }

  // Progress of a backtrack until the cluster serves again (or the backtrack fails).
  async function followBacktrack(id, backtrack, box) {
    box.hidden = false;
    box.dataset.state = 'running';
    const line = h('p', {}, `Backtrack ${backtrack.id} to ${iso(backtrack.to_ms)}: ${backtrack.status}`);
    box.replaceChildren(h('h3', {}, 'Backtracking'), line);
    for (;;) {
      await sleep(1000);
      const detail = await api.cluster(id);
      const b = detail.backtracks.find((x) => x.id === backtrack.id);
      const writer = detail.instances.find((i) => i.id === detail.cluster.writer);
      const status = b ? b.status : 'unknown';
      line.textContent = `Backtrack ${backtrack.id} to ${iso(backtrack.to_ms)}: ${status}; cluster ${detail.cluster.status}` +
        (writer ? `, writer ${writer.status}` : '');
      if (status === 'failed') {
        box.dataset.state = 'failed';
        box.append(h('p', { class: 'error' }, b.message || 'the backtrack failed'));
        break;
      }
      if (status === 'completed' && detail.cluster.status === 'available' && (!writer || writer.status === 'available')) {
        box.dataset.state = 'done';
        box.firstChild.textContent = 'Backtrack completed';
        break;
      }
    }
    await load();
  }

  // Progress of a clone: the new cluster, then its writer instance, until both are available.
  async function followClone(newId, box) {
    box.hidden = false;
    box.dataset.state = 'running';
    const line = h('p', {}, `Cloning into ${newId}…`);
    box.replaceChildren(h('h3', {}, 'Cloning'), line);
    const waitFor = async (what, get, done) => {
      for (;;) {
        await sleep(1000);
        const s = await get();
        line.textContent = `${what}: ${s}`;
        if (s === 'failed') throw new Error(`${what} failed: see the cluster's events`);
        if (s === done) return;
      }
    };
    await waitFor(`cluster ${newId}`, async () => (await api.cluster(newId)).cluster.status, 'available');
    const instanceId = `${newId}-1`.slice(0, 63);
    await api.createInstance(newId, instanceId, 'db.r5.large');
    await waitFor(`writer ${instanceId}`, async () => {
      const d = await api.cluster(newId);
      return d.instances.find((i) => i.id === instanceId)?.status ?? 'creating';
    }, 'available');
    const d = await api.cluster(newId);
    box.dataset.state = 'done';
    box.firstChild.textContent = 'Clone ready';
    line.replaceChildren(h('a', { href: `#/cluster/${encodeURIComponent(newId)}` }, newId),
      ` serves at ${d.cluster.endpoint}:${d.cluster.port}`);
  }

  await load();
  every(5000, () => {
    if (!document.querySelector('#progress[data-state="running"]')) load();
  });
}

// ---------- routing ----------

function route() {
  const m = location.hash.match(/^#\/cluster\/(.+)$/);
  if (m) showCluster(decodeURIComponent(m[1]));
  else showClusters();
}

window.addEventListener('hashchange', () => {
  if (!nav.hidden) route();
});

(async () => {
  try {
    await afterLogin();
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) showLogin();
    else app.replaceChildren(h('p', { class: 'error' }, err.message));
  }
})();
