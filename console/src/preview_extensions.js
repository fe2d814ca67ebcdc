// The preview panel's view of the past at the picked moment (main.js renders them into
// #preview-asof): an as-of query, the diff summary against now, and restore-table. Each entry is
// { render(container, { cluster, atMs, api }) } and appends its own elements to `container`.
// They call the console API (src/console/console.h), which runs cluster::TimeTravel as
// `rewind query`, `rewind diff` and `rewind restore-table` do; every error is shown with the
// server's message (a time outside the window, an unknown table, a foreign-key refusal...).
import { h, iso } from './dom.js';

function failedIn(box, err) {
  box.dataset.state = 'failed';
  box.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message));
}

function grid(columns, rows) {
  return h('table', { class: 'grid compact' },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((v) => h('td', { class: 'mono' }, v))))));
}

// SQL on the cluster's state at the moment: rows as a table, bounded by the server.
const asOfQuery = {
  render(container, { cluster, atMs, api }) {
    const sql = h('textarea', { id: 'asof-sql', class: 'mono', rows: 2, spellcheck: 'false',
      placeholder: 'SELECT COUNT(*) FROM sbtest1' });
    const result = h('div', { id: 'asof-result', class: 'result' });
    const run = h('button', { id: 'asof-run', type: 'button' }, 'Run as of this moment');
    run.addEventListener('click', async () => {
      run.disabled = true;
      result.dataset.state = 'running';
      result.replaceChildren(h('p', { class: 'hint' }, 'Running on the state at ', iso(atMs), '…'));
      try {
        const r = await api.queryAsOf(cluster.id, iso(atMs), sql.value);
        result.dataset.state = 'done';
        result.replaceChildren(
          r.columns.length ? grid(r.columns, r.rows) : [],
          h('p', { id: 'asof-message', class: r.truncated ? 'error' : 'hint' },
            r.message ?? `${r.row_count} row${r.row_count === 1 ? '' : 's'} as of ${iso(r.at_ms)}`));
      } catch (err) {
        failedIn(result, err);
      } finally {
        run.disabled = false;
      }
    });
    container.append(h('section', { class: 'asof-part', id: 'asof-query' },
      h('h3', {}, 'Query as of this moment'),
      h('label', {}, 'SQL (read-only; default database: ', cluster.database_name || '—', ')', sql),
      h('div', { class: 'actions' }, run), result));
  },
};

// What changed from the moment to now: per table, its schema change and row counts; one
// table's rows on demand.
const diffSummary = {
  render(container, { cluster, atMs, api }) {
    const summary = h('div', { id: 'diff-summary', class: 'result' });
    const detail = h('div', { id: 'diff-detail', class: 'result' });
    const run = h('button', { id: 'diff-run', type: 'button' }, 'Compare with now');
    const showDetail = async (table) => {
      detail.dataset.state = 'running';
      detail.replaceChildren(h('p', { class: 'hint' }, `Rows of ${table} changed since ${iso(atMs)}…`));
      try {
        const r = await api.diffSince(cluster.id, iso(atMs), table);
        const t = r.tables[0];
        detail.dataset.state = 'done';
        if (!t) {
          detail.replaceChildren(h('p', { class: 'hint' }, `${table}: no changes.`));
          return;
        }
        const show = (row) => (row ? JSON.stringify(row) : '');
        detail.replaceChildren(h('h4', {}, `${t.table}: ${t.schema}`),
          grid(['Change', 'Before', 'After'], t.changes.map((c) => [c.op, show(c.before), show(c.after)])),
          h('p', { class: t.truncated ? 'error' : 'hint' }, t.truncated
            ? `Showing the first ${t.changes.length} of ${t.changes_total} changes: \`rewind diff --table ${t.table}\` has them all.`
            : `${t.changes_total} change${t.changes_total === 1 ? '' : 's'}.`));
      } catch (err) {
        failedIn(detail, err);
      }
    };
    run.addEventListener('click', async () => {
      run.disabled = true;
      summary.dataset.state = 'running';
      detail.replaceChildren();
      summary.replaceChildren(h('p', { class: 'hint' }, 'Comparing ', iso(atMs), ' with now…'));
      try {
        const r = await api.diffSince(cluster.id, iso(atMs));
        summary.dataset.state = 'done';
        if (!r.tables.length) {
          summary.replaceChildren(h('p', { class: 'hint' }, 'No table changed since then.'));
          return;
        }
        summary.replaceChildren(
          h('table', { class: 'grid compact' },
            h('thead', {}, h('tr', {}, ['Table', 'Since then', 'Inserted', 'Deleted', 'Updated', ''].map((c) => h('th', {}, c)))),
            h('tbody', {}, r.tables.map((t) => h('tr', { dataset: { table: t.table, schema: t.schema } },
              h('td', { class: 'mono' }, t.table), h('td', {}, t.schema === 'unchanged' ? 'rows changed' : t.schema),
              h('td', {}, t.counts.inserted), h('td', {}, t.counts.deleted), h('td', {}, t.counts.updated),
              h('td', {}, h('button', { type: 'button', class: 'small', onclick: () => showDetail(t.table) }, 'Rows')))))),
          h('p', { class: 'hint' }, `From ${iso(r.from_ms)} to ${iso(r.to_ms)}.`));
      } catch (err) {
        failedIn(summary, err);
      } finally {
        run.disabled = false;
      }
    });
    container.append(h('section', { class: 'asof-part', id: 'asof-diff' },
      h('h3', {}, 'What changed since this moment'), h('div', { class: 'actions' }, run), summary, detail));
  },
};

// One table of the live cluster put back as it was at the moment: the plan (and its lock)
// first, as `rewind restore-table --dry-run` says it, then the restore on confirmation.
const restoreTable = {
  render(container, { cluster, atMs, api }) {
    const table = h('select', { id: 'restore-table', disabled: true }, h('option', { value: '' }, 'loading the tables…'));
    const related = h('input', { id: 'restore-related', type: 'checkbox' });
    const planBtn = h('button', { id: 'restore-plan', type: 'button', disabled: true }, 'Check the plan');
    const confirmBtn = h('button', { id: 'restore-confirm', type: 'button', class: 'danger', hidden: true }, 'Restore');
    const plan = h('div', { id: 'restore-plan-text', class: 'result' });
    const progress = h('div', { id: 'restore-progress', class: 'progress', hidden: true });
    const request = (dryRun) => ({ table: table.value, atIso: iso(atMs), withRelated: related.checked, dryRun });
    const stale = () => {
      confirmBtn.hidden = true;
      plan.replaceChildren();
      delete plan.dataset.state;
    };
    table.addEventListener('change', stale);
    related.addEventListener('change', stale);

    planBtn.addEventListener('click', async () => {
      stale();
      plan.dataset.state = 'running';
      plan.replaceChildren(h('p', { class: 'hint' }, `Checking ${table.value} at ${iso(atMs)}…`));
      try {
        const r = await api.restoreTable(cluster.id, request(true));
        plan.dataset.state = 'done';
        plan.replaceChildren(h('dl', { class: 'summary' },
          h('dt', {}, 'Tables'), h('dd', { class: 'mono' }, r.tables.join(', ')),
          h('dt', {}, 'How'), h('dd', {}, r.method),
          r.created.length ? [h('dt', {}, 'Recreated'), h('dd', { class: 'mono' }, r.created.join(', '))] : []));
        confirmBtn.textContent = `Restore ${r.tables.join(', ')} to ${iso(atMs)}`;
        confirmBtn.hidden = false;
      } catch (err) {
        failedIn(plan, err);
      }
    });

    confirmBtn.addEventListener('click', async () => {
      const req = request(false);
      if (!window.confirm(`Restore ${req.table} of ${cluster.id} to ${req.atIso}? Its later writes are undone; other tables are not touched.`)) return;
      planBtn.disabled = confirmBtn.disabled = table.disabled = true;
      progress.hidden = false;
      progress.dataset.state = 'running';
      const t0 = Date.now();
      const line = h('p', {}, `Restoring ${req.table} to ${req.atIso}…`);
      progress.replaceChildren(h('h3', {}, 'Restoring'), line);
      const tick = setInterval(() => {
        line.textContent = `Restoring ${req.table} to ${req.atIso}: ${Math.round((Date.now() - t0) / 1000)} s`;
      }, 1000);
      try {
        const r = await api.restoreTable(cluster.id, req);
        progress.dataset.state = 'done';
        progress.firstChild.textContent = 'Table restored';
        line.textContent = `${r.tables.join(', ')} restored to its state at ${req.atIso}: ${r.rows} rows now, ` +
          `in ${Math.round((Date.now() - t0) / 1000)} s (${r.method}).`;
      } catch (err) {
        progress.dataset.state = 'failed';
        progress.firstChild.textContent = 'Restore failed';
        line.textContent = err.message;
      } finally {
        clearInterval(tick);
        planBtn.disabled = confirmBtn.disabled = table.disabled = false;
        confirmBtn.hidden = true;
      }
    });

    const listError = h('p', { id: 'restore-tables-error', class: 'error', role: 'alert' });
    // The tables that existed then (a short-lived instance at the moment); a moment picked again
    // meanwhile renders a new panel, so a late answer for an old one is dropped.
    setTimeout(async () => {
      if (!table.isConnected) return;
      try {
        const r = await api.tablesAt(cluster.id, iso(atMs));
        if (!table.isConnected) return;
        table.replaceChildren(...(r.tables.length ? r.tables.map((t) => h('option', { value: t }, t))
          : [h('option', { value: '' }, 'no tables then')]));
        table.disabled = !r.tables.length;
        planBtn.disabled = !r.tables.length;
        table.dataset.loaded = 'true';
      } catch (err) {
        table.replaceChildren(h('option', { value: '' }, '—'));
        listError.textContent = err.message;
      }
    }, 300);

    container.append(h('section', { class: 'asof-part', id: 'asof-restore' },
      h('h3', {}, 'Restore one table to this moment'),
      h('div', { class: 'actions' },
        h('label', {}, 'Table (as it existed then)', table),
        h('label', { class: 'inline' }, related, 'with related tables (foreign keys)'),
        planBtn, confirmBtn),
      listError, plan, progress));
  },
};

export const previewExtensions = [asOfQuery, diffSummary, restoreTable];
