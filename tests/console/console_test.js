// The support console, end to end, in a real browser: the real backend binary on
// 127.0.0.1 (with an ingest and an admin token), a real client (console_client: the
// library logs, makes traced libcurl calls to /demo/api, uploads and files a report), then
// Debian's headless chromium, driven by playwright-core, does what a support engineer does:
// types the admin token and the report id, reads the diagnosis and the timeline, downloads
// the report's logs and attachments (fetched with the token), searches by X-Reqid, trace id
// and IP, opens a deep link, reads the problems list, sees the incident banner, and gets
// "nothing matches" for an unknown id. Failures the page must explain (no token yet, a
// download or search that fails, a slow search overtaken by a later one) are provoked with
// page.route. Any uncaught page error, console error or unexpected HTTP error fails the
// test; so does any request to another address.
//
//   node console_test.js --backend PATH --client PATH [--chromium /usr/bin/chromium] [--out DIR]
//
// On failure: DIR/console-failure.png (screenshot) and DIR/console-failure.html (the DOM).
'use strict';

const assert = require('node:assert/strict');
const { spawn, execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const HOST = '127.0.0.1';
const WAIT_MS = 90_000;      // any single wait in the browser; generous for a loaded 2-core machine
const WATCHDOG_MS = 270_000; // below ctest's 300 s, so the failure output (screenshot) still happens

function parseArgs(argv) {
  const a = { chromium: '/usr/bin/chromium', out: process.cwd() };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!['backend', 'client', 'chromium', 'out'].includes(k) || i + 1 >= argv.length) {
      console.error(`usage: node console_test.js --backend PATH --client PATH [--chromium PATH] [--out DIR] (bad argument "${argv[i]}")`);
      process.exit(2);
    }
    a[k] = argv[i + 1];
  }
  if (!a.backend || !a.client) {
    console.error('usage: node console_test.js --backend PATH --client PATH [--chromium PATH] [--out DIR]');
    process.exit(2);
  }
  return a;
}

function loadPlaywright() {
  try {
    return require('playwright-core');
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e;
    console.error(`console test: playwright-core is not installed in ${__dirname}/node_modules.\n` +
                  '  Run scripts/deps.sh test (it runs "npm ci" there), then run the test again.');
    process.exit(1);
  }
}

// Loopback needs no proxy: none of ours (the client's libcurl, chromium) may use one.
const env = { ...process.env, NO_PROXY: HOST, no_proxy: HOST };
for (const k of ['http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']) delete env[k];

const t0 = Date.now();
const log = (...m) => console.log(`[console ${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...m);

// ---------------------------------------------------------------- processes

// The backend on a free loopback port; resolves when it printed the URL it listens on.
function startBackend(bin, db, ingestToken, adminToken) {
  const p = spawn(bin, ['--listen', `${HOST}:0`, '--db', db, '--ingest-token', ingestToken, '--admin-token', adminToken],
                  { stdio: ['ignore', 'pipe', 'pipe'], env });
  const be = { proc: p, stderr: '', exited: null };
  p.stderr.on('data', d => { be.stderr += d; });
  be.exit = new Promise(res => p.on('exit', (code, sig) => { be.exited = { code, sig }; res(be.exited); }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the backend did not print its URL within 60 s')), 60_000);
    p.on('error', e => { clearTimeout(timer); reject(new Error(`cannot start the backend ${bin}: ${e.message}`)); });
    be.exit.then(x => { clearTimeout(timer); reject(new Error(`the backend exited early (${JSON.stringify(x)}): ${be.stderr}`)); });
    const rl = readline.createInterface({ input: p.stdout });
    rl.once('line', line => {
      clearTimeout(timer);
      const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (!m) return reject(new Error(`unexpected first line from the backend: ${line}`));
      be.port = m[1];
      be.url = `http://${HOST}:${m[1]}`;
      p.stdout.resume(); // keep draining (it prints "stopped" at the end)
      resolve(be);
    });
  });
}

async function stopBackend(be) {
  if (!be || be.exited) return be && be.exited;
  be.proc.kill('SIGTERM');
  const killer = setTimeout(() => be.proc.kill('SIGKILL'), 30_000);
  const x = await be.exit;
  clearTimeout(killer);
  return x;
}

// The real client: prints key=value lines (report_id, trace_id, reqid, ok_reqid).
function runClient(bin, url, db, ingestToken) {
  return new Promise((resolve, reject) => {
    execFile(bin, [url, db, ingestToken], { timeout: 180_000, env }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`console_client failed (${err.code ?? err.signal}):\n${stdout}${stderr}`));
      const out = {};
      for (const line of stdout.split('\n')) {
        const i = line.indexOf('=');
        if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
      }
      resolve(out);
    });
  });
}

// A plain HTTP call to the backend's API (node:http, loopback only).
function api(be, method, p, token, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = { Authorization: `Bearer ${token}` };
    if (data) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': data.length });
    // agent: false, no keep-alive: an idle kept connection would hold the backend's SIGTERM
    // shutdown for its keep-alive timeout.
    const req = http.request({ host: HOST, port: be.port, method, path: p, headers, timeout: 60_000, agent: false }, res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', c => { text += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${p}: no answer in 60 s`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

// A report straight to /v1/reports, as a client that never uploaded telemetry files it: a
// bare manifest (no app, no logs) and the given attachments ({name, type, data}).
function postReport(be, ingestToken, manifest, attachments) {
  const b = `console-e2e-${crypto.randomBytes(8).toString('hex')}`;
  const part = (head, data) => Buffer.concat([Buffer.from(`--${b}\r\n${head}\r\n\r\n`), Buffer.from(data), Buffer.from('\r\n')]);
  const body = Buffer.concat([
    part('Content-Disposition: form-data; name="manifest"\r\nContent-Type: application/json', JSON.stringify(manifest)),
    ...attachments.map(a => part(`Content-Disposition: form-data; name="attachment"; filename="${a.name}"\r\nContent-Type: ${a.type}`, a.data)),
    Buffer.from(`--${b}--\r\n`)]);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port: be.port, method: 'POST', path: '/v1/reports', timeout: 60_000, agent: false,
                               headers: { Authorization: `Bearer ${ingestToken}`, 'Content-Type': `multipart/form-data; boundary=${b}`,
                                          'Content-Length': body.length } }, res => {
      let text = '';
      res.on('data', c => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('timeout', () => req.destroy(new Error('POST /v1/reports: no answer in 60 s')));
    req.on('error', reject);
    req.end(body);
  });
}

// A plain HTTP GET of raw bytes (what a download must hold).
function fetchBytes(be, p, token) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port: be.port, path: p, headers: { Authorization: `Bearer ${token}` }, timeout: 60_000, agent: false }, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${p}: no answer in 60 s`)));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------- the browser side

// Clicks a file link in #out and returns the saved download's name and bytes.
async function download(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const file = await dl.path();
  assert.equal(await dl.failure(), null, `the download of ${selector} failed`);
  return { name: dl.suggestedFilename(), bytes: fs.readFileSync(file) };
}

// What the page shows after a search: the "Matched as" line, report sections, timeline rows.
async function readOut(page) {
  return page.$eval('#out', out => ({
    text: out.innerText,
    matched: (out.querySelector('p') || {}).innerText || '',
    reports: [...out.querySelectorAll('h3')].map(h => h.innerText),
    rows: [...out.querySelectorAll('table tr')].slice(1).map(r => ({
      cls: r.className.split(' ').filter(Boolean),
      time: r.cells[0] ? r.cells[0].innerText : '',
      what: r.cells[1] ? r.cells[1].innerText : '',
      details: r.cells[2] ? r.cells[2].innerText : '',
    })),
  }));
}

// Types q into the search box, submits, and waits until the page shows that search's result
// (the address bar says ?q=<q> and the answer names the expected kind).
async function search(page, q, kind) {
  await page.fill('#q', q);
  await page.press('#q', 'Enter');
  await page.waitForFunction(([q, kind]) => {
    if (new URLSearchParams(location.search).get('q') !== q) return false;
    const out = document.querySelector('#out');
    return !!out.querySelector('table') && out.innerText.includes(`Matched as ${kind}`);
  }, [q, kind], { timeout: WAIT_MS });
  return readOut(page);
}

const rowsOf = (out, kind) => out.rows.filter(r => r.cls.includes(kind));

// The whole client's story must be on screen, whatever the search matched on.
function checkTimeline(out, c, what) {
  const requests = rowsOf(out, 'request'), logs = rowsOf(out, 'log'), reports = rowsOf(out, 'report');
  assert.ok(requests.length >= 2, `${what}: expected the 2 request rows, got ${JSON.stringify(out.rows)}`);
  assert.ok(logs.length >= 1, `${what}: expected log rows, got ${JSON.stringify(out.rows)}`);
  const failed = requests.find(r => r.details.includes(c.reqid));
  assert.ok(failed, `${what}: no request row names X-Reqid ${c.reqid}: ${JSON.stringify(requests)}`);
  assert.match(failed.details, /GET .*\/demo\/api/, `${what}: the failed request row`);
  assert.ok(failed.details.includes('503'), `${what}: the failed request row shows no 503: ${failed.details}`);
  assert.ok(failed.details.includes(c.trace_id), `${what}: the failed request row shows no trace id: ${failed.details}`);
  const ok = requests.find(r => r.details.includes(c.ok_reqid));
  assert.ok(ok && ok.details.includes('200'), `${what}: no request row with X-Reqid ${c.ok_reqid} and 200: ${JSON.stringify(requests)}`);
  for (const m of ['console-e2e: user opened the sync screen', 'console-e2e: sync gave up after 3 attempts (item 4711)'])
    assert.ok(logs.some(r => r.details.includes(m)), `${what}: no log row "${m}": ${JSON.stringify(logs)}`);
  const warn = logs.find(r => r.details.includes('console-e2e: sync failed, will retry'));
  assert.ok(warn && warn.details.includes(c.trace_id), `${what}: the warning logged inside the request is not shown with its trace id`);
  assert.ok(reports.some(r => r.details.includes(c.report_id)), `${what}: no report row for ${c.report_id}`);
  assert.match(out.matched, /console-e2e 4\.5\.6 \(.+\) IPs 127\.0\.0\.1/, `${what}: the client line`);
}

async function main(args, state) {
  const { chromium } = loadPlaywright();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-console-'));
  state.dir = dir;
  const ingestToken = crypto.randomBytes(12).toString('hex'), adminToken = crypto.randomBytes(12).toString('hex');

  const be = await startBackend(args.backend, path.join(dir, 'support.db'), ingestToken, adminToken);
  state.be = be;
  log(`backend at ${be.url}`);
  const c = await runClient(args.client, be.url, path.join(dir, 'app.db'), ingestToken);
  for (const k of ['report_id', 'trace_id', 'reqid', 'ok_reqid']) assert.ok(c[k], `console_client printed no ${k}: ${JSON.stringify(c)}`);
  assert.match(c.trace_id, /^[0-9a-f]{32}$/);
  log(`client filed report ${c.report_id} (X-Reqid ${c.reqid}, trace ${c.trace_id})`);
  const rep = await api(be, 'GET', `/api/reports/${c.report_id}`, adminToken);
  assert.equal(rep.status, 200, `GET /api/reports/${c.report_id}: ${rep.text}`);
  const summary = rep.json.diagnosis.summary, answer = rep.json.diagnosis.suggested_answer;
  assert.ok(summary.includes(c.reqid), `the diagnosis should name the failed request's X-Reqid: ${summary}`);

  // What may fail, and only that: /api/problems without a token (the page asks before the
  // token is typed), the lookup of the unknown id (404 is the "nothing matches" answer),
  // a favicon the backend does not serve, and the exact URLs a step makes fail on purpose
  // (provoked, through page.route).
  const unknown = crypto.randomUUID();
  const provoked = new Set();
  const allowed = (status, url) => {
    if (provoked.has(url)) return true;
    let u;
    try { u = new URL(url); } catch { return false; }
    return (status === 401 && u.pathname === '/api/problems') ||
           (status === 404 && u.pathname === '/api/lookup' && u.searchParams.get('q') === unknown) ||
           (status === 404 && u.pathname === '/favicon.ico');
  };
  const errors = state.errors;

  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    env,
    timeout: 120_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-proxy-server', '--disable-dev-shm-usage',
           // Nothing but loopback: no name is ever resolved (the browser's own background
           // services ask for Google hosts otherwise), so no packet leaves for another address.
           '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'],
  });
  state.browser = browser;
  log(`chromium ${browser.version()}`);
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  // Loopback only: the page may talk to the backend and nothing else.
  await context.route('**/*', route => {
    const u = new URL(route.request().url());
    if (u.protocol === 'http:' && u.hostname === HOST && u.port === be.port) return route.continue();
    errors.push(`request to an address other than the backend: ${u.href}`);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  state.page = page;
  page.setDefaultTimeout(WAIT_MS);
  page.setDefaultNavigationTimeout(WAIT_MS);
  page.on('pageerror', e => errors.push(`uncaught page error: ${e.stack || e.message}`));
  page.on('console', m => {
    if (m.type() !== 'error') return;
    const f = /^Failed to load resource: the server responded with a status of (\d+)/.exec(m.text());
    if (f && allowed(Number(f[1]), m.location().url)) return;
    if (/^Failed to load resource: net::ERR_/.test(m.text()) && provoked.has(m.location().url)) return;
    errors.push(`console error: ${m.text()} (${m.location().url || 'no url'})`);
  });
  page.on('response', async r => {
    if (r.status() < 400) return;
    const h = await r.request().allHeaders().catch(() => ({}));
    // A 401 is fine only when the page sent no token (it had none yet); with the token, never.
    if (allowed(r.status(), r.url()) && !(r.status() === 401 && h.authorization)) return;
    errors.push(`unexpected HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
  page.on('requestfailed', r => provoked.has(r.url()) || errors.push(`request failed: ${r.method()} ${r.url()}: ${r.failure() && r.failure().errorText}`));
  page.on('crash', () => errors.push('the page crashed'));

  // 1. The page, fresh: no token stored yet, no incident.
  await page.goto(`${be.url}/`);
  await page.waitForLoadState('networkidle');
  assert.equal(await page.title(), 'telltale support console');
  assert.equal(await page.textContent('h1'), 'What happened to this client?');
  assert.equal(await page.isVisible('#banner'), false, 'no incident yet: the banner must be hidden');
  // Without a token the problems list says what to do (not an empty section)...
  await page.waitForFunction(() => document.querySelector('#problems').innerText.includes('enter the admin token to see the problems list'));
  assert.equal(await page.$('#problems table'), null);
  // ...and typing the token (leaving the field fires "change") loads it.
  await page.fill('#tok', adminToken);
  await page.press('#tok', 'Tab');
  await page.waitForSelector('#problems table tr:nth-child(2)');
  log('problems list: asks for the token, loads once it is typed');

  // 2. The support engineer, token typed, searches for the report id the user quoted.
  let out = await search(page, c.report_id, 'report');
  log('search by report id: shown');
  assert.deepEqual(out.reports, [`Report ${c.report_id}`]);
  assert.ok(out.text.includes(summary), `the diagnosis "${summary}" is not on the page:\n${out.text}`);
  assert.ok(out.text.includes(answer), 'the suggested answer is not on the page');
  assert.ok(out.text.includes('from 127.0.0.1'), 'the report\'s client IP is not on the page');
  assert.ok(await page.isVisible(`#out a[href="/api/reports/${c.report_id}/logs"]`), 'no link to the report\'s logs');
  checkTimeline(out, c, 'by report id');
  const own = rowsOf(out, 'report').find(r => r.details.includes(c.report_id));
  assert.ok(own.cls.includes('match'), 'the searched report\'s row is not marked as the match');
  assert.ok(own.details.includes('console-e2e: sync does not work'), 'the report row shows no description');

  // 2b. The logs link, with the admin token set: a plain link would get 401; the page
  // fetches it with the token and saves it. The download holds what the API serves.
  const logsPath = `/api/reports/${c.report_id}/logs`;
  const logs = await fetchBytes(be, logsPath, adminToken);
  assert.equal(logs.status, 200, `GET ${logsPath}`);
  assert.ok(logs.body.length > 0, 'the report has no logs to download');
  const dl = await download(page, `#out a[href="${logsPath}"]`);
  assert.equal(dl.name, `${c.report_id}-logs.ndjson`);
  assert.ok(dl.bytes.equals(logs.body), `the downloaded logs (${dl.bytes.length} bytes) differ from the API's (${logs.body.length} bytes)`);
  assert.ok(dl.bytes.toString().includes('console-e2e: sync gave up after 3 attempts'), 'the downloaded logs miss the client\'s error');
  assert.equal(await page.isVisible('#note'), false, 'an error is shown after a good download');
  log(`logs link: downloaded ${dl.bytes.length} bytes with the token`);
  // A download the backend refuses: the reason in the page, no broken file.
  provoked.add(be.url + logsPath);
  await page.route(be.url + logsPath, route => route.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"console-e2e: simulated failure"}' }));
  await page.click(`#out a[href="${logsPath}"]`);
  await page.waitForSelector('#note', { state: 'visible' });
  assert.equal(await page.textContent('#note'), `cannot download ${c.report_id}-logs.ndjson: console-e2e: simulated failure`);
  await page.unroute(be.url + logsPath);
  provoked.delete(be.url + logsPath);
  log('logs link: a refused download is explained in the page');

  // 3. By the failed request's X-Reqid (what the backend team hands over).
  out = await search(page, c.reqid, 'server_request_id');
  log('search by X-Reqid: shown');
  checkTimeline(out, c, 'by X-Reqid');
  const hit = rowsOf(out, 'request').find(r => r.details.includes(c.reqid));
  assert.ok(hit.cls.includes('match'), 'the request with that X-Reqid is not marked as the match');
  assert.ok(out.text.includes(summary), 'the report\'s diagnosis is shown for the X-Reqid search too');

  // 4. By the trace id (the traceparent the server saw): the request and the warning inside it match.
  out = await search(page, c.trace_id, 'trace_id');
  log('search by trace id: shown');
  checkTimeline(out, c, 'by trace id');
  const matched = out.rows.filter(r => r.cls.includes('match'));
  assert.ok(matched.some(r => r.cls.includes('request') && r.details.includes(c.reqid)), 'the traced request is not marked');
  assert.ok(matched.some(r => r.cls.includes('log') && r.details.includes('sync failed, will retry')), 'the log inside the request is not marked');
  assert.ok(matched.every(r => r.details.includes(c.trace_id)), `rows of another trace are marked: ${JSON.stringify(matched)}`);

  // 5. By the IP.
  out = await search(page, HOST, 'ip');
  log('search by IP: shown');
  checkTimeline(out, c, 'by IP');

  // 6. An id nobody has: a clear "nothing matches", no table.
  await page.fill('#q', unknown);
  await page.press('#q', 'Enter');
  await page.waitForSelector('#out p.err');
  assert.equal(await page.textContent('#out p.err'), `nothing matches ${unknown}`);
  assert.equal(await page.$('#out table'), null, 'a table is left over after a search that matched nothing');
  log('unknown id: "nothing matches"');

  // 6b. A slow search must not replace a later one. The report id search is held at the
  // network (page.route) while "searching…" shows; the X-Reqid search then runs and
  // renders; releasing the held answer changes nothing.
  const held = `${be.url}/api/lookup?q=${encodeURIComponent(c.report_id)}`;
  let release, arrived;
  const isArrived = new Promise(res => { arrived = res; });
  const releasing = new Promise(res => { release = res; });
  await page.route(held, async route => { arrived(); await releasing; await route.continue(); });
  await page.fill('#q', c.report_id);
  await page.press('#q', 'Enter');
  await isArrived;
  await page.waitForSelector('#busy', { state: 'visible' });
  assert.equal(await page.textContent('#busy'), 'searching…');
  out = await search(page, c.reqid, 'server_request_id');
  await page.waitForSelector('#busy', { state: 'hidden' });
  const late = page.waitForEvent('requestfinished', r => r.url() === held);
  release();
  await late;
  // The stale answer is in the page now; give its (dropped) rendering a moment to show.
  await page.waitForTimeout(500);
  const after = await readOut(page);
  assert.ok(after.matched.startsWith('Matched as server_request_id'), `the slow earlier search replaced the later one: ${after.matched}`);
  assert.deepEqual(after.rows, out.rows);
  assert.equal(new URLSearchParams(new URL(page.url()).search).get('q'), c.reqid);
  assert.equal(await page.isVisible('#busy'), false, 'still "searching…" after the latest search was shown');
  await page.unroute(held);
  log('overtaken search: dropped, the later result stays');

  // 6c. The backend unreachable during a search (the connection refused, via page.route):
  // a clear message, no unhandled rejection (that would be a page error), no indicator left.
  const offline = `${be.url}/api/lookup?q=console-e2e-offline`;
  provoked.add(offline);
  await page.route(offline, route => route.abort('connectionrefused'));
  await page.fill('#q', 'console-e2e-offline');
  await page.press('#q', 'Enter');
  await page.waitForFunction(() => document.querySelector('#out').innerText.startsWith('could not reach the backend: '));
  assert.equal(await page.textContent('#out p.err'), 'could not reach the backend: Failed to fetch');
  await page.waitForSelector('#busy', { state: 'hidden' });
  await page.unroute(offline);
  log('search with the backend unreachable: "could not reach the backend"');

  // 6d. A client known only from one report (no telemetry, no app name in the manifest, no
  // logs), with an attachment whose name needs escaping in a URL: the client line says what
  // is unknown, there is no dead logs link, and the attachment downloads with the token.
  const bare = { report_id: crypto.randomUUID(), install_id: `console-e2e-bare-${crypto.randomBytes(4).toString('hex')}`,
                 user: { description: 'console-e2e: report only' } };
  const attName = 'notes #1 100%.txt', attData = 'console-e2e: attached notes\n';
  const posted = await postReport(be, ingestToken, bare, [{ name: attName, type: 'text/plain', data: attData }]);
  assert.equal(posted.status, 200, `POST /v1/reports (bare): ${posted.text}`);
  out = await search(page, bare.report_id, 'report');
  assert.equal(out.matched, `Matched as report: unknown app unknown version (${bare.install_id}) IPs 127.0.0.1`);
  assert.deepEqual(out.reports, [`Report ${bare.report_id}`]);
  assert.ok(!out.text.includes('undefined'), `"undefined" on the page:\n${out.text}`);
  assert.ok(out.text.includes('no logs'), 'a report without logs should say "no logs"');
  assert.equal(await page.$(`#out a[href="/api/reports/${bare.report_id}/logs"]`), null, 'a logs link for a report without logs');
  const att = await download(page, `#out a[data-name="${attName}"]`);
  assert.equal(att.name, attName);
  assert.equal(att.bytes.toString(), attData);
  log('report-only client: "unknown app unknown version", attachment downloaded');

  // 7. A deep link (what the demo prints) with the token remembered: the search runs by
  // itself and the problems list now loads.
  await page.goto(`${be.url}/?q=${encodeURIComponent(c.reqid)}`);
  assert.equal(await page.inputValue('#tok'), adminToken, 'the admin token was not remembered');
  assert.equal(await page.inputValue('#q'), c.reqid);
  await page.waitForFunction(() => document.querySelector('#out').innerText.includes('Matched as server_request_id'));
  checkTimeline(await readOut(page), c, 'deep link');
  await page.waitForSelector('#problems table tr:nth-child(2)');
  const problems = await page.$$eval('#problems table tr', rows => rows.slice(1).map(r => [...r.cells].map(x => x.innerText)));
  log(`problems list: ${problems.length} rows`);
  const gaveUp = problems.find(p => p[3] === 'console-e2e: sync gave up after 3 attempts (item 4711)');
  assert.ok(gaveUp, `the client's error is not in the problems list: ${JSON.stringify(problems)}`);
  assert.deepEqual(gaveUp.slice(0, 3), ['1', '1', 'new'], 'clients, events and trend of the problem');
  assert.ok(problems.some(p => /^HTTP 503 GET .*\/demo\/api$/.test(p[3])), `the failed request is not in the problems list: ${JSON.stringify(problems)}`);
  await page.waitForLoadState('networkidle');
  assert.equal(await page.isVisible('#banner'), false, 'no incident yet: the banner must be hidden');

  // 8. An incident declared through the admin API shows as a banner on reload; closing it hides it.
  const title = 'console-e2e: sync outage', notice = 'Sync is down; we are fixing it.';
  const d = await api(be, 'POST', '/api/incidents', adminToken, { action: 'declare', title, notice });
  assert.equal(d.status, 200, `declaring the incident: ${d.text}`);
  await page.reload();
  await page.waitForSelector('#banner', { state: 'visible' });
  assert.equal(await page.textContent('#banner'), `Incident: ${title} — ${notice}`);
  await page.waitForFunction(() => document.querySelector('#out').innerText.includes('Matched as server_request_id'));
  await page.waitForLoadState('networkidle');
  log('incident banner: shown');
  const closed = await api(be, 'POST', '/api/incidents', adminToken, { action: 'close', id: d.json.id });
  assert.equal(closed.status, 200, `closing the incident: ${closed.text}`);
  await page.goto(`${be.url}/`);
  await page.waitForSelector('#problems table');
  await page.waitForLoadState('networkidle');
  assert.equal(await page.isVisible('#banner'), false, 'the banner is still shown after the incident was closed');

  assert.deepEqual(errors, [], 'page errors, console errors or unexpected HTTP errors');
  log('incident closed: banner hidden again');
  await browser.close();
  state.browser = null;
  log('browser closed');
  const x = await stopBackend(be);
  log('browser closed, backend stopped');
  assert.deepEqual(x, { code: 0, sig: null }, `the backend did not stop cleanly on SIGTERM: ${be.stderr}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

async function onFailure(args, state, err) {
  console.error(`console test FAILED: ${err && err.stack || err}`);
  if (state.errors.length) console.error(`page errors seen:\n  ${state.errors.join('\n  ')}`);
  if (state.page) {
    const png = path.join(args.out, 'console-failure.png'), html = path.join(args.out, 'console-failure.html');
    try {
      await state.page.screenshot({ path: png, fullPage: true, timeout: 20_000 });
      console.error(`screenshot: ${png}`);
      fs.writeFileSync(html, await state.page.content());
      console.error(`page DOM: ${html} (page address ${state.page.url()})`);
    } catch (e) {
      console.error(`no screenshot: ${e.message}`);
    }
  }
  if (state.be && state.be.stderr) console.error(`backend stderr:\n${state.be.stderr}`);
  if (state.dir) console.error(`work files kept in ${state.dir}`);
}

(async () => {
  const args = parseArgs(process.argv);
  fs.mkdirSync(args.out, { recursive: true });
  const state = { errors: [] };
  let failed = false;
  let watchdog;
  const timedOut = new Promise((_, reject) => {
    watchdog = setTimeout(() => reject(new Error(`the test did not finish in ${WATCHDOG_MS / 1000} s`)), WATCHDOG_MS);
  });
  try {
    await Promise.race([main(args, state), timedOut]);
  } catch (e) {
    failed = true;
    await onFailure(args, state, e);
  } finally {
    clearTimeout(watchdog);
    if (state.browser) await state.browser.close().catch(() => {});
    await stopBackend(state.be).catch(() => {});
  }
  if (failed) process.exit(1);
  log('all console checks passed');
})();
