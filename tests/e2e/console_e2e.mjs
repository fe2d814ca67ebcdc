// The web console in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core
// from console/node_modules), run by console_test.sh against a real rewindd whose cluster had
// sbtest1 dropped. Steps: a wrong secret is refused; login; the clusters page; an API call
// without the session → 401 and POSTs without the CSRF token → 403; the cluster page's chart;
// the DROP's burst found and the moment just before it picked; the preview: a moment outside the
// window refused, an as-of COUNT(*) of sbtest1 (and a failing statement's error), the diff against
// now naming sbtest1 dropped (its rows on demand), restore-table refused for a table bound by a
// foreign key and planned with its related one, then sbtest1's plan, confirmed, checked through
// mysql; backtrack; progress until done;
// a clone (with its writer) at the same moment; logout. A screenshot of each page goes to SCREENSHOT_DIR. Exit 0 only if every step passed.
//
// Environment: CONSOLE_URL, ACCESS_KEY_ID, SECRET_ACCESS_KEY, CLUSTER, CLONE (its name), DROP_MS and DROP_END_MS
// (the DROP ran between them), QUIET_MS (when the load had settled: the table was whole then), SCREENSHOT_DIR,
// PROFILE_DIR (a fresh --user-data-dir), CHROMIUM, CONSOLE_DIR (where node_modules is), ROWS (sbtest1's rows),
// MYSQL_HOST, MYSQL_PORT, MYSQL_PASSWORD (the cluster's endpoint and master password).
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const url = env('CONSOLE_URL');
const cluster = env('CLUSTER');
const dropMs = Number(env('DROP_MS'));
const dropEndMs = Number(env('DROP_END_MS'));
const quietMs = Number(env('QUIET_MS'));
const shots = env('SCREENSHOT_DIR');
mkdirSync(shots, { recursive: true });
const require = createRequire(path.join(env('CONSOLE_DIR'), 'package.json'));
const { chromium } = require('playwright-core');

const t0 = Date.now();
// A bound on the whole run (console_test.sh also kills this process and Chromium by PID).
setTimeout(() => {
  console.log('[console_e2e] FAIL: still running after 720 s');
  process.exit(3);
}, 720_000).unref();
const log = (msg) => console.log(`[console_e2e +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
function check(cond, msg) {
  if (!cond) throw new Error(`check failed: ${msg}`);
  log(`ok: ${msg}`);
}
const shot = async (page, name) => {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  log(`screenshot ${name}.png`);
};

const context = await chromium.launchPersistentContext(env('PROFILE_DIR'), {
  executablePath: env('CHROMIUM'),
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
let exitCode = 1;
try {
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  page.on('dialog', (d) => d.accept());

  // --- login: a wrong secret first ---
  await page.goto(url);
  await page.waitForSelector('#login-form');
  check(!(await page.isVisible('#logout')), 'no logout button before login');
  await shot(page, 'login');
  await page.fill('#access-key-id', env('ACCESS_KEY_ID'));
  await page.fill('#secret', 'not-the-secret-' + Date.now());
  await page.click('#login-submit');
  await page.waitForFunction(() => document.querySelector('#login-error')?.textContent.length > 0);
  const refused = await page.textContent('#login-error');
  check(/wrong access key id or secret/.test(refused), `a wrong secret is refused: "${refused}"`);
  check(!(await page.isVisible('#clusters')), 'no cluster list after a wrong secret');

  await page.fill('#secret', env('SECRET_ACCESS_KEY'));
  await page.click('#login-submit');
  await page.waitForSelector(`#clusters tr[data-cluster="${cluster}"]`);
  const row = await page.textContent(`#clusters tr[data-cluster="${cluster}"]`);
  check(row.includes('available') && row.includes(`${cluster}-1`), `clusters page lists ${cluster}: ${row}`);
  const cookies = await context.cookies(url);
  const session = cookies.find((c) => c.name === 'rewind_session');
  check(session && session.httpOnly && session.sameSite === 'Strict' && session.path === '/',
    'the session cookie is HttpOnly, SameSite=Strict, Path=/');
  check(!(await page.content()).includes(env('SECRET_ACCESS_KEY')), 'the secret is nowhere in the page');
  await shot(page, 'clusters');

  // --- the API's gate ---
  const noSession = await fetch(`${url}console/api/clusters`);
  check(noSession.status === 401, `an API call without the session → ${noSession.status}`);
  const gate = await page.evaluate(async (name) => {
    const post = (p, headers) => fetch(p, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ to: new Date().toISOString() }) }).then((r) => r.status);
    return {
      noToken: await post(`/console/api/clusters/${name}/backtrack`, {}),
      wrongToken: await post(`/console/api/clusters/${name}/backtrack`, { 'X-CSRF-Token': 'x'.repeat(43) }),
      logoutNoToken: await post('/console/api/logout', {}),
      stillIn: await fetch('/console/api/session').then((r) => r.status),
    };
  }, cluster);
  check(gate.noToken === 403 && gate.wrongToken === 403 && gate.logoutNoToken === 403,
    `POSTs without (or with a wrong) CSRF token → 403: ${JSON.stringify(gate)}`);
  check(gate.stillIn === 200, 'the session survives refused POSTs');

  // --- the cluster page: the DROP on the chart ---
  await page.click(`#clusters tr[data-cluster="${cluster}"] a`);
  await page.waitForSelector('#chart[data-loaded="true"] canvas');
  await page.waitForSelector('#changes li[data-start-ms]');
  const burstList = await page.$$eval('#changes li[data-start-ms]', (lis) =>
    lis.map((li) => ({ start: Number(li.dataset.startMs), end: Number(li.dataset.endMs) })));
  log(`bursts (newest first): ${burstList.map((b) => `${new Date(b.start).toISOString()}..${new Date(b.end).toISOString()}`).join(', ')}`);
  const dropIdx = burstList.findIndex((b) => b.start <= dropEndMs && dropMs < b.end);
  check(dropIdx >= 0, `the DROP at ${new Date(dropMs).toISOString()} is a burst on the chart`);
  const drop = burstList[dropIdx];
  check(drop.start > quietMs - 1000, 'the DROP\'s burst is apart from the load before it');

  // A click on the chart picks a moment (the preview opens)...
  const over = await page.$('#chart .u-over');
  const box = await over.boundingBox();
  await page.mouse.click(box.x + box.width * 0.5, box.y + box.height * 0.5);
  await page.waitForSelector('#preview:not([hidden]) #moment');
  const clicked = Date.parse(await page.inputValue('#moment'));
  check(Number.isFinite(clicked), `a click on the chart picks ${new Date(clicked).toISOString()}`);
  // ...and the DROP's burst gives the moment just before it.
  await page.click(`#changes li[data-start-ms="${drop.start}"] .pick-before`);
  await page.waitForFunction((s) => Date.parse(document.querySelector('#moment').value) < s, drop.start);
  const picked = Date.parse(await page.inputValue('#moment'));
  check(picked < drop.start && picked >= quietMs - 3000,
    `picked ${new Date(picked).toISOString()}: before the DROP, after the load settled`);
  check((await page.textContent('#preview')).includes('In the window'), 'the preview shows the moment');
  await shot(page, 'cluster');

  // --- the preview's past: an as-of query, the diff against now, then restore-table ---
  check(await page.isVisible('#preview-asof'), 'the preview shows the as-of view of the moment');
  // A moment outside the window first: the query is refused with the range to pick from.
  await page.fill('#moment', new Date(Date.now() - 6 * 3600_000).toISOString());
  await page.dispatchEvent('#moment', 'change');
  await page.fill('#asof-sql', 'SELECT 1');
  await page.click('#asof-run');
  await page.waitForSelector('#asof-result[data-state="done"], #asof-result[data-state="failed"]', { timeout: 120_000 });
  const outside = await page.textContent('#asof-result');
  check((await page.getAttribute('#asof-result', 'data-state')) === 'failed' && /give a time from/.test(outside),
    `a moment outside the window is refused with its message: "${outside}"`);
  await page.click(`#changes li[data-start-ms="${drop.start}"] .pick-before`);
  await page.waitForFunction((p) => Date.parse(document.querySelector('#moment').value) === p, picked);
  await page.fill('#asof-sql', 'SELECT COUNT(*) FROM sbtest1');
  await page.click('#asof-run');
  await page.waitForSelector('#asof-result[data-state="done"], #asof-result[data-state="failed"]', { timeout: 120_000 });
  const counted = await page.$$eval('#asof-result tbody td', (tds) => tds.map((td) => td.textContent));
  check(counted.length === 1 && counted[0] === env('ROWS'),
    `the as-of query counts ${counted.join(',') || (await page.textContent('#asof-result'))} rows in sbtest1 then (want ${env('ROWS')})`);
  // A statement the state refuses: the server's message, no grid.
  await page.fill('#asof-sql', 'SELECT * FROM no_such_table');
  await page.click('#asof-run');
  await page.waitForSelector('#asof-result[data-state="failed"]', { timeout: 120_000 });
  const refusedSql = await page.textContent('#asof-result');
  check(/no_such_table/.test(refusedSql), `a failing as-of statement shows its error: "${refusedSql}"`);
  await page.fill('#asof-sql', 'SELECT COUNT(*) FROM sbtest1');
  await page.click('#asof-run');
  await page.waitForSelector('#asof-result[data-state="done"]', { timeout: 120_000 });

  await page.click('#diff-run');
  await page.waitForSelector('#diff-summary[data-state="done"], #diff-summary[data-state="failed"]', { timeout: 180_000 });
  const dropped = await page.$eval('#diff-summary', (el) =>
    [...el.querySelectorAll('tr[data-table]')].map((tr) => ({ table: tr.dataset.table, schema: tr.dataset.schema,
      text: tr.textContent })));
  const sb = dropped.find((t) => t.table === 'mylab.sbtest1');
  check(sb && sb.schema === 'dropped' && sb.text.includes(env('ROWS')),
    `the diff summary names sbtest1 as dropped since, ${env('ROWS')} rows deleted: ${JSON.stringify(dropped)}`);

  // One table's rows on demand: the first changes, cut with a message.
  await page.click('#diff-summary tr[data-table="mylab.sbtest1"] button');
  await page.waitForSelector('#diff-detail[data-state="done"], #diff-detail[data-state="failed"]', { timeout: 180_000 });
  const detail = await page.textContent('#diff-detail');
  const detailRows = await page.$$eval('#diff-detail tbody tr', (trs) => trs.length);
  check(detailRows === 200 && detail.includes(`first 200 of ${env('ROWS')} changes`) && detail.includes('delete'),
    `sbtest1's rows on demand: ${detailRows} shown, "${detail.slice(-120)}"`);

  await page.waitForSelector('#restore-table[data-loaded="true"]', { timeout: 120_000 });
  const choices = await page.$$eval('#restore-table option', (os) => os.map((o) => o.value));
  check(['mylab.child', 'mylab.parent', 'mylab.sbtest1'].every((t) => choices.includes(t)),
    `the restore chooser lists the tables of then: ${choices.join(', ')}`);
  // A table bound by a foreign key: refused alone with the server's message, planned with its
  // related table.
  await page.selectOption('#restore-table', 'mylab.child');
  await page.click('#restore-plan');
  await page.waitForSelector('#restore-plan-text[data-state="done"], #restore-plan-text[data-state="failed"]', { timeout: 120_000 });
  const fkRefusal = await page.textContent('#restore-plan-text');
  check((await page.getAttribute('#restore-plan-text', 'data-state')) === 'failed' && /bound by foreign keys/.test(fkRefusal) &&
    fkRefusal.includes('parent') && !(await page.isVisible('#restore-confirm')), `a table bound by a foreign key is refused alone: "${fkRefusal}"`);
  await page.check('#restore-related');
  await page.click('#restore-plan');
  await page.waitForSelector('#restore-plan-text[data-state="done"], #restore-plan-text[data-state="failed"]', { timeout: 120_000 });
  const related = await page.textContent('#restore-plan-text');
  check((await page.getAttribute('#restore-plan-text', 'data-state')) === 'done' && related.includes('mylab.parent'),
    `with related tables the plan takes both: ${related}`);
  await page.uncheck('#restore-related');

  await page.selectOption('#restore-table', 'mylab.sbtest1');
  await page.click('#restore-plan');
  await page.waitForSelector('#restore-plan-text[data-state="done"], #restore-plan-text[data-state="failed"]', { timeout: 120_000 });
  const planText = await page.textContent('#restore-plan-text');
  check((await page.getAttribute('#restore-plan-text', 'data-state')) === 'done' && /lock|RENAME|transaction/i.test(planText),
    `the plan (and its lock) is said before confirming: ${planText}`);
  check(await page.isVisible('#restore-confirm'), 'the restore waits for a confirmation');
  await page.locator('#preview').screenshot({ path: path.join(shots, 'preview.png') });
  log('screenshot preview.png');
  await page.click('#restore-confirm');
  await page.waitForSelector('#restore-progress[data-state]');
  await page.waitForSelector('#restore-progress[data-state="done"], #restore-progress[data-state="failed"]', { timeout: 240_000 });
  const restored = await page.textContent('#restore-progress');
  check((await page.getAttribute('#restore-progress', 'data-state')) === 'done' && restored.includes(`${env('ROWS')} rows`),
    `restore-table finished in the page: ${restored}`);
  // Through mysql, before the backtrack below undoes the restore (it goes back before the DROP).
  const mysqlCount = execFileSync('mysql', ['-h', env('MYSQL_HOST'), '-P', env('MYSQL_PORT'), '-u', 'masteruser',
    `-p${env('MYSQL_PASSWORD')}`, '-N', '-B', 'mylab', '-e', 'SELECT COUNT(*) FROM sbtest1'], { encoding: 'utf8' }).trim();
  check(mysqlCount === env('ROWS'), `sbtest1 is back through mysql after restore-table: ${mysqlCount} rows`);
  await shot(page, 'restore-done');

  // --- backtrack, with progress until done ---
  await page.click('#do-backtrack');
  await page.waitForSelector('#progress[data-state]');
  await page.waitForSelector('#progress[data-state="done"], #progress[data-state="failed"]', { timeout: 240_000 });
  const progress = await page.textContent('#progress');
  check((await page.getAttribute('#progress', 'data-state')) === 'done', `backtrack finished in the page: ${progress}`);
  await page.waitForSelector('#backtracks tbody tr');
  check((await page.textContent('#backtracks')).includes('completed'), 'the backtrack is listed, completed');
  await shot(page, 'backtrack-done');

  // --- a clone at the same moment, with its writer, with progress until ready ---
  await page.fill('#clone-id', env('CLONE'));
  await page.click('#do-clone');
  await page.waitForFunction(() => document.querySelector('#progress h3')?.textContent === 'Cloning');
  await page.waitForSelector('#progress[data-state="done"], #progress[data-state="failed"]', { timeout: 240_000 });
  const cloned = await page.textContent('#progress');
  check((await page.getAttribute('#progress', 'data-state')) === 'done' && cloned.includes('Clone ready'),
    `the clone is ready in the page: ${cloned}`);
  await shot(page, 'clone-done');

  // --- stop, then start, from the cluster's page (the page follows the status) ---
  check((await page.textContent('#do-stop-start')) === 'Stop', 'an available cluster offers Stop');
  await page.click('#do-stop-start');
  await page.waitForFunction(() => document.querySelector('#cluster-status .badge')?.textContent === 'stopped',
    null, { timeout: 120_000 });
  check((await page.textContent('#do-stop-start')) === 'Start', 'the cluster is stopped in the page, Start offered');
  await shot(page, 'stopped');
  await page.click('#do-stop-start');
  await page.waitForFunction(() => document.querySelector('#cluster-status .badge')?.textContent === 'available',
    null, { timeout: 240_000 });
  check((await page.textContent('#do-stop-start')) === 'Stop', 'the cluster is available again in the page');
  let answered = '';
  for (let i = 0; i < 120 && answered !== '1'; i++) {
    try {
      answered = execFileSync('mysql', ['-h', env('MYSQL_HOST'), '-P', env('MYSQL_PORT'), '-u', 'masteruser',
        `-p${env('MYSQL_PASSWORD')}`, '-N', '-B', 'mylab', '-e', 'SELECT 1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  check(answered === '1', 'the cluster answers mysql after its start from the page');

  // --- logout ---
  await page.click('#logout');
  await page.waitForSelector('#login-form');
  check(!(await page.isVisible('#logout')), 'the logout button is gone after logout');
  const after = await page.evaluate(() => fetch('/console/api/clusters').then((r) => r.status));
  check(after === 401, `after logout the API answers ${after}`);
  const left = (await context.cookies(url)).find((c) => c.name === 'rewind_session');
  check(!left || left.value === '', 'logout cleared the cookie');

  // Expected refusals: the gate's 401/403 above, and the 400s of the moment outside the window,
  // of the failing as-of statement and of the foreign-key refusal.
  let expected400 = 3;
  const real = pageErrors.filter((e) => !/status of (401|403)/.test(e) &&
    !(/status of 400/.test(e) && expected400-- > 0));
  check(real.length === 0, `no script or CSP errors in the page${real.length ? ': ' + real.join(' | ') : ''}`);
  exitCode = 0;
} catch (err) {
  log(`FAIL: ${err.stack || err}`);
} finally {
  await context.close().catch(() => {});
}
process.exit(exitCode);
