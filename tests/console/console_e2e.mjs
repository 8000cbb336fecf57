// The web console end to end in Debian's headless chromium, driven by
// puppeteer-core: run by console_e2e_pgtest (tests/console/CMakeLists.txt),
// which starts token-service (with its HTTP face), token-sidecar and a
// private PostgreSQL and passes their addresses in CONSOLE_E2E_* variables.
// docs/console.md tells the steps and shows the screenshots each step saves.
//
// Every step asserts what a person would see; waits are bounded polls
// (waitForSelector / waitForFunction / until()), never sleeps. Secrets are
// held in memory only: nothing here prints one (hints are printed).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: console_e2e_pgtest runs this script`);
  return value;
}

const CONSOLE_URL = need('CONSOLE_E2E_URL');
const ORIGIN = new URL(CONSOLE_URL).origin;
const SIDECAR = need('CONSOLE_E2E_SIDECAR');
const ADMIN_TOKEN = need('CONSOLE_E2E_ADMIN_TOKEN');
const SHOTS = need('CONSOLE_E2E_SCREENSHOTS');
const BUF = need('CONSOLE_E2E_BUF');
const AUTHZ_SCHEMA = need('CONSOLE_E2E_AUTHZ_SCHEMA');

// puppeteer-core from the directory scripts/install-deps.sh installed
// tests/console/package-lock.json into (an ES module resolves no NODE_PATH,
// so it is required from there).
function loadPuppeteer() {
  const dir = need('CONSOLE_E2E_DIR');
  try {
    return createRequire(path.join(dir, 'package.json'))('puppeteer-core');
  } catch (err) {
    throw new Error(`puppeteer-core not found in ${dir}: run scripts/install-deps.sh (${err.message})`);
  }
}

const WAIT_MS = 30_000;
const TOKEN_SHAPE = /^utk_[0-9A-Za-z]{39}$/;
const MARKUP = '<img src=x onerror=alert(1)>';
// token-service's --token_scopes and the largest of its
// --expiry_warning_days in console_e2e_pgtest.cc (not the console's default
// of 7, so the badge shows that the console takes GetProfile's).
const CATALOGUE = ['things:read', 'things:write'];
const WARNING_DAYS = 10;
const BOB_NAME = 'Bob <b onmouseover=alert(2)>Builder</b>';

const sel = (testid) => `[data-testid="${testid}"]`;
const log = (text) => process.stdout.write(`console_e2e: ${text}\n`);

function isoDate(daysFromToday) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + daysFromToday);
  return d.toISOString().slice(0, 10);
}

// DESIGN.md §3: prefix, the first 4 random characters, "…", the last 4.
function hintOfSecret(secret) {
  const random = secret.slice('utk_'.length);
  return `utk_${random.slice(0, 4)}\u2026${secret.slice(-4)}`;
}

async function until(what, condition, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await condition();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Envoy's ext_authz Check on the sidecar over real gRPC with "buf curl"; the
// request (with the secret) goes on stdin, not the command line.
function check(secret) {
  const request = JSON.stringify({
    attributes: { request: { http: { method: 'GET', path: '/v1/things', headers: { authorization: `Bearer ${secret}` } } } },
  });
  return new Promise((resolve, reject) => {
    const child = spawn(BUF, ['curl', '--schema', AUTHZ_SCHEMA, '--protocol', 'grpc', '--http2-prior-knowledge',
      '-d', '@-', `http://${SIDECAR}/envoy.service.auth.v3.Authorization/Check`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`buf curl Check exited ${code}: ${err}`));
      else resolve(JSON.parse(out));
    });
    child.stdin.end(request);
  });
}

function upstreamHeader(response, name) {
  const headers = (response.okResponse && response.okResponse.headers) || [];
  const found = headers.find((h) => h.header && h.header.key === name);
  return found ? found.header.value : '';
}

async function main() {
  const puppeteer = loadPuppeteer();
  mkdirSync(SHOTS, { recursive: true });
  const args = ['--lang=en-US', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'];
  // Chromium refuses to start as root with its sandbox on (it needs an
  // unprivileged user for its namespaces); CI runs as root. Only then.
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  const browser = await puppeteer.launch({
    executablePath: need('CONSOLE_E2E_CHROMIUM'),
    headless: true,
    args,
    defaultViewport: { width: 1280, height: 800 },
    env: { ...process.env, LANG: 'en_US.UTF-8', TZ: 'UTC' },
  });
  try {
    await run(browser);
  } catch (err) {
    // The screen as it was, for the failure's report.
    const [page] = (await browser.pages()).slice(-1);
    if (page) await page.screenshot({ path: path.join(SHOTS, 'failure.png') }).catch(() => {});
    throw err;
  } finally {
    await browser.close();
  }
}

async function run(browser) {
  const context = browser.defaultBrowserContext();
  await context.overridePermissions(ORIGIN, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
  const page = await browser.newPage();
  page.setDefaultTimeout(WAIT_MS);

  // Anything the page reports as an error fails the run, CSP violations
  // included, and so does any JavaScript dialog (alert() from markup).
  const problems = [];
  const dialogs = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location() && msg.location().url ? msg.location().url : '';
    // Chromium logs every non-2xx answer of fetch(). A Connect error is an
    // answer of the API, shown by the console; a failed load of anything
    // else (a page, a script) is a problem.
    if (/^Failed to load resource: the server responded with a status of (400|401|403|404|409)\b/.test(msg.text()) &&
        new URL(where, ORIGIN).pathname.startsWith('/tokens.v1.')) {
      return;
    }
    problems.push(`console error: ${msg.text()} (${where})`);
  });
  page.on('dialog', async (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });
  const noProblems = (step) => {
    assert.deepEqual(problems, [], `${step}: the page reported errors`);
    assert.deepEqual(dialogs, [], `${step}: a JavaScript dialog opened`);
  };

  let shot = 0;
  // Saves the screen's picture, once it fits the window: a wide table
  // scrolls in its own frame, the page itself never sideways.
  const screenshot = async (name) => {
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    }));
    assert.ok(scrollWidth <= innerWidth, `${name}: the page is ${scrollWidth}px wide in a ${innerWidth}px window`);
    shot += 1;
    const file = path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
    // Let the layout settle into a frame first: a screenshot is a picture,
    // not an assertion.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    await page.screenshot({ path: file });
    log(`screenshot ${path.basename(file)}`);
  };
  const text = (testid, root = 'document') => page.$eval(sel(testid), (n) => n.textContent, root);
  const visible = (testid) => page.waitForSelector(sel(testid), { visible: true });
  // A closed dialog leaves the page (on its close event, a task after it
  // stops showing).
  const gone = (testid) => page.waitForFunction((s) => !document.querySelector(s), {}, sel(testid));
  const activeTestid = () => page.evaluate(() => document.activeElement && document.activeElement.getAttribute('data-testid'));

  // Rows of a token table as {id, status, name, hint, statusText, user,
  // scopes (their text, or "full access"), badge (null when none)}.
  const tokenRows = (table) => page.$$eval(`${sel(table)} ${sel('token-row')}`, (rows) => rows.map((r) => {
    const cell = (id) => { const c = r.querySelector(`[data-testid="${id}"]`); return c ? c.textContent : null; };
    return {
      id: r.getAttribute('data-token-id'), status: r.getAttribute('data-status'), name: cell('token-name'),
      hint: cell('token-hint'), statusText: cell('token-status'), user: cell('token-user'),
      scopes: cell('token-scopes'), badge: cell('expiry-badge'), expiresOn: cell('token-expiry'),
    };
  }));
  const rowNamed = async (table, name) => (await tokenRows(table)).find((r) => r.name === name);

  // The scope checkboxes of the open Create API Token dialog, in order.
  const scopeBoxes = () => page.$$eval(sel('create-token-scope'), (boxes) => boxes.map((b) => ({
    scope: b.value, checked: b.checked, disabled: b.disabled, label: b.labels.length === 1 ? b.labels[0].textContent : null,
    reason: b.getAttribute('aria-describedby') ? document.getElementById(b.getAttribute('aria-describedby')).textContent : '',
  })));
  // Fills the Create API Token dialog (already open) and submits it;
  // `scopes` are checked by clicking their checkboxes, as a person would.
  const fillCreate = async ({ name, expiresOn, owner, scopes = [] }) => {
    await page.$eval(sel('create-token-name'), (n, v) => { n.value = v; }, name);
    await page.$eval(sel('create-token-expiry'), (n, v) => { n.value = v; }, expiresOn);
    if (owner !== undefined) await page.$eval(sel('create-token-owner'), (n, v) => { n.value = v; }, owner);
    for (const scope of scopes) await page.click(`${sel('create-token-scope')}[value="${scope}"]`);
    await page.click(sel('create-token-submit'));
  };
  // The secret dialog's value; checks the dialog's warning and token name.
  const readSecretDialog = async (tokenName, scopes = 'none, full access') => {
    await visible('secret-dialog');
    assert.equal(await text('secret-token-name'), tokenName);
    assert.equal(await text('secret-token-scopes'), scopes, 'the secret dialog names the token\'s scopes');
    assert.match(await text('secret-warning'), /will not be shown again/);
    const secret = await page.$eval(sel('secret-value'), (n) => n.value);
    assert.match(secret, TOKEN_SHAPE, 'the secret dialog shows a token');
    return secret;
  };
  const closeSecretDialog = async () => {
    await page.click(sel('secret-close'));
    await gone('secret-dialog');
    assert.equal(await page.$(sel('secret-dialog')), null, 'the secret dialog left the page');
  };
  // The secret is nowhere in the page or its storage once its dialog closed.
  const secretForgotten = async (secret) => {
    const where = await page.evaluate((s) => {
      const found = [];
      if (document.documentElement.outerHTML.includes(s)) found.push('the DOM');
      for (const input of document.querySelectorAll('input')) if (input.value.includes(s)) found.push('an input');
      for (const store of [sessionStorage, localStorage]) {
        for (let i = 0; i < store.length; i += 1) if (store.getItem(store.key(i)).includes(s)) found.push('storage');
      }
      return found;
    }, secret);
    assert.deepEqual(where, [], 'the new secret is kept nowhere after its dialog closed');
  };
  const signIn = async (token, { shotName } = {}) => {
    await visible('signin-view');
    // Pasted, as a person would: into the clipboard, then Paste.
    await page.evaluate((t) => navigator.clipboard.writeText(t), token);
    await page.focus(sel('signin-token'));
    await page.keyboard.down('Control');
    await page.keyboard.press('KeyV', { commands: ['Paste'] });
    await page.keyboard.up('Control');
    assert.equal(await page.$eval(sel('signin-token'), (n) => n.value.length), token.length,
      'the token was pasted into the sign-in form');
    if (shotName) await screenshot(shotName);
    await page.click(sel('signin-submit'));
    await visible('app-shell');
    await visible('profile-view');
    assert.equal(await page.evaluate(() => sessionStorage.length), 1, 'the session token, and nothing else, is kept');
  };
  const signOut = async () => {
    await page.click(sel('profile-menu-button'));
    await visible('sign-out');
    await page.click(sel('sign-out'));
    await visible('signin-view');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'signing out forgets the token');
  };

  // a. Sign in with the bootstrap admin token.
  log('a. sign in as the bootstrap admin');
  await page.goto(CONSOLE_URL, { waitUntil: 'load' });
  await signIn(ADMIN_TOKEN, { shotName: 'sign-in' });
  assert.equal(await text('profile-user-id'), 'admin');
  assert.equal(await text('profile-role'), 'Admin');
  assert.ok(await page.$(sel('nav-admin')), 'an admin sees Access Control');
  assert.ok(!page.url().includes(ADMIN_TOKEN.slice(4)), 'the token is never in the URL');
  await page.waitForSelector(`${sel('own-tokens-table')}`);
  await screenshot('profile');
  noProblems('sign in');

  // b. A name the server refuses (over 100 characters, DESIGN.md §3): its
  // field error from BadRequest under Name.
  log('b. create with an invalid name');
  await page.click(sel('add-token'));
  await visible('create-token-dialog');
  await fillCreate({ name: 'n'.repeat(101), expiresOn: isoDate(30) });
  const nameError = await visible('create-token-name-error');
  assert.match(await nameError.evaluate((n) => n.textContent), /100 characters/);
  assert.equal(await page.$eval(sel('create-token-name'), (n) => n.getAttribute('aria-invalid')), 'true');
  assert.equal(await page.$eval(sel('create-token-expiry-error'), (n) => n.hidden), true, 'no error under Expiry Date');
  assert.equal(await page.$eval(sel('create-token-error'), (n) => n.hidden), true, 'the error is the field\'s, not the form\'s');
  await screenshot('create-token-field-error');
  await page.click(sel('create-token-cancel'));
  await gone('create-token-dialog');

  // c. A valid token: the secret once, Copy, read back from the clipboard.
  log('c. create a token and copy its secret');
  await page.click(sel('add-token'));
  await visible('create-token-dialog');
  // One checkbox per scope of the catalogue, none checked, and the line
  // that says what none means.
  assert.deepEqual(await scopeBoxes(), CATALOGUE.map((scope) => ({ scope, checked: false, disabled: false, label: scope, reason: '' })));
  assert.match(await text('create-token-scopes-hint'), /A token without scopes has your full access/);
  await screenshot('create-token-dialog');
  const copiedName = 'e2e-copied-token';
  await fillCreate({ name: copiedName, expiresOn: isoDate(30) });
  const shown = await readSecretDialog(copiedName);
  await page.click(sel('secret-copy'));
  await page.waitForFunction((s) => /Copied/.test(document.querySelector(s).textContent), {}, sel('secret-copied'));
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(copied, TOKEN_SHAPE, 'the clipboard holds a token');
  assert.ok(copied === shown, 'the clipboard holds the secret the dialog shows');
  await screenshot('secret-dialog');

  // d. Closed: listed as Active with the secret's hint.
  log('d. the new token is listed as Active with its hint');
  await closeSecretDialog();
  assert.equal(await activeTestid(), 'add-token', 'focus went back to Create Token');
  await secretForgotten(copied);
  const active = await until('the new token is listed', () => rowNamed('own-tokens-table', copiedName));
  assert.equal(active.status, 'ACTIVE');
  assert.equal(active.statusText, 'Active');
  assert.equal(active.hint, hintOfSecret(copied));
  assert.equal(active.scopes, 'full access', 'a token without scopes is listed with its user\'s full access');
  assert.equal(active.badge, null, `a token ${30} days from expiry has no badge (threshold ${WARNING_DAYS})`);
  log(`   hint ${active.hint}`);
  await screenshot('profile-token-active');

  // e. The copied secret is allowed by the sidecar's Check, as its owner
  // (the sidecar learns of the token through its feed: polled).
  log('e. the sidecar allows the copied secret');
  const allowed = await until('the sidecar allows the new token', async () => {
    const r = await check(copied);
    return r.okResponse ? r : null;
  });
  assert.equal(upstreamHeader(allowed, 'x-auth-user-id'), 'admin');
  assert.equal(upstreamHeader(allowed, 'x-auth-token-id'), active.id);

  // f. Revoke, confirmed: Revoked in the list, then denied by the sidecar.
  log('f. revoke it');
  await page.click(`${sel('token-row')}[data-token-id="${active.id}"] ${sel('token-revoke')}`);
  await visible('confirm-dialog');
  assert.match(await text('confirm-message'), new RegExp(`Revoke \u201c${copiedName}\u201d`));
  await screenshot('revoke-confirm');
  await page.click(sel('confirm-ok'));
  await gone('confirm-dialog');
  const revoked = await until('the token shows Revoked', async () => {
    const r = await rowNamed('own-tokens-table', copiedName);
    return r && r.status === 'REVOKED' ? r : null;
  });
  assert.equal(revoked.statusText, 'Revoked');
  assert.equal(await page.$(`${sel('token-row')}[data-token-id="${active.id}"] ${sel('token-revoke')}`), null,
    'a revoked token has no Revoke button');
  await screenshot('profile-token-revoked');
  const denied = await until('the sidecar denies the revoked token', async () => {
    const r = await check(copied);
    return r.deniedResponse ? r : null;
  });
  assert.match(denied.deniedResponse.body || '', /revoked/);
  noProblems('create, copy, revoke');

  // i. The Create API Token dialog by keyboard alone.
  log('i. the create dialog by keyboard');
  await page.focus(sel('add-token'));
  await page.keyboard.press('Enter');
  await visible('create-token-dialog');
  assert.equal(await activeTestid(), 'create-token-name', 'focus lands on Token Name');
  // Labels are tied to their inputs: each has its accessible name.
  for (const [label, testid] of [['Token Name', 'create-token-name'], ['Expiry Date', 'create-token-expiry']]) {
    const byName = await page.$(`${sel('create-token-dialog')} ::-p-aria(${label})`);
    assert.ok(byName, `an element named "${label}"`);
    assert.equal(await byName.evaluate((n) => n.getAttribute('data-testid')), testid, `"${label}" names its input`);
    assert.equal(await page.$eval(sel(testid), (n) => n.labels.length === 1 && n.labels[0].textContent), label);
  }
  await page.keyboard.press('Escape');
  await gone('create-token-dialog');
  assert.equal(await activeTestid(), 'add-token', 'Escape closes the dialog and focus goes back to Create Token');
  noProblems('keyboard: Escape');

  await page.keyboard.press('Enter');
  await visible('create-token-dialog');
  assert.equal(await activeTestid(), 'create-token-name');
  const keyboardName = 'typed-by-keyboard';
  await page.keyboard.type(keyboardName);
  await page.keyboard.press('Tab');
  assert.equal(await activeTestid(), 'create-token-expiry', 'Tab goes from Name to Expiry Date');
  // en-US: month, day and year segments, typed in turn.
  const [year, month, day] = isoDate(40).split('-');
  await page.keyboard.type(`${month}${day}${year}`);
  assert.equal(await page.$eval(sel('create-token-expiry'), (n) => n.value), isoDate(40), 'the date was typed');
  await screenshot('create-token-keyboard');
  // Tab on: the date's segments, each scope's checkbox, then the buttons
  // in order.
  const stops = [];
  for (let i = 0; i < 12 && !stops.includes('create-token-submit'); i += 1) {
    await page.keyboard.press('Tab');
    const at = await activeTestid();
    if (stops[stops.length - 1] !== at) stops.push(at);
  }
  assert.deepEqual(stops.filter((s) => s !== 'create-token-expiry'), ['create-token-scope', 'create-token-cancel', 'create-token-submit'],
    'Tab reaches the scopes, Cancel, then Create');
  // Back to Name, and Enter submits the form.
  await page.focus(sel('create-token-name'));
  await page.keyboard.press('Enter');
  const typedSecret = await readSecretDialog(keyboardName);
  assert.equal(await activeTestid(), 'secret-copy', 'focus lands on Copy');
  await page.keyboard.press('Escape');
  await gone('secret-dialog');
  assert.equal(await activeTestid(), 'add-token', 'Escape closes the secret and focus goes back to Create Token');
  await secretForgotten(typedSecret);
  await until('the typed token is listed', () => rowNamed('own-tokens-table', keyboardName));
  noProblems('keyboard');

  // g. Users: an admin creates a USER (whose display name holds markup),
  // then a token for them on User Tokens.
  log('g. create a user and their token');
  await page.click(sel('nav-admin-users'));
  await visible('admin-users-view');
  await page.waitForSelector(sel('users-table'));
  await page.click(sel('add-user'));
  await visible('create-user-dialog');
  await page.type(sel('create-user-id'), 'bob');
  await page.type(sel('create-user-name'), BOB_NAME);
  await page.type(sel('create-user-email'), 'bob@example.com');
  await page.select(sel('create-user-role'), 'USER');
  await screenshot('create-user-dialog');
  await page.click(sel('create-user-submit'));
  await gone('create-user-dialog');
  const bobRow = await until('bob is listed', () => page.$$eval(sel('user-row'), (rows) => {
    const r = rows.find((x) => x.getAttribute('data-user-id') === 'bob');
    return r && {
      name: r.querySelector('[data-testid="user-name"]').textContent,
      role: r.querySelector('[data-testid="user-role-select"]') ? r.querySelector('[data-testid="user-role-select"]').value : '',
    };
  }));
  assert.equal(bobRow.name, BOB_NAME, 'a display name with markup is shown as text');
  assert.equal(bobRow.role, 'USER');
  await screenshot('users');

  await page.click(sel('nav-admin-tokens'));
  await visible('admin-tokens-view');
  await page.waitForSelector(sel('all-tokens-table'));
  await page.click(sel('admin-add-token'));
  await visible('create-token-dialog');
  const bobTokenName = 'bob-first-token';
  await fillCreate({ name: bobTokenName, expiresOn: isoDate(60), owner: 'bob' });
  const bobSecret = await readSecretDialog(bobTokenName);
  await closeSecretDialog();
  const bobTokenRow = await until('bob\'s token is listed', () => rowNamed('all-tokens-table', bobTokenName));
  assert.equal(bobTokenRow.status, 'ACTIVE');
  assert.ok(bobTokenRow.user.startsWith(BOB_NAME), 'the owner is shown by name, as text');
  assert.ok(await rowNamed('all-tokens-table', copiedName), 'the admin table lists every user\'s tokens');
  await screenshot('admin-user-tokens');
  noProblems('users');

  // The USER: own tokens only, no Access Control.
  log('g. bob signs in');
  await signOut();
  await signIn(bobSecret);
  assert.equal(await text('profile-user-id'), 'bob');
  assert.equal(await text('profile-role'), 'User');
  assert.equal(await text('profile-name'), BOB_NAME);
  assert.equal(await page.$(sel('nav-admin')), null, 'a USER has no Access Control menu');
  // The admin signed out on User Tokens: bob starts on his Profile, with no
  // banner about a screen he never asked for.
  assert.equal(new URL(page.url()).hash, '', 'signing out left no route behind');
  assert.equal(await page.$eval(sel('page-error'), (n) => n.hidden), true, 'no error banner');
  await until('bob\'s token is listed', () => rowNamed('own-tokens-table', bobTokenName));

  // h. Markup in a token name is text: no element, no script, no dialog.
  log('h. a token named with markup');
  await page.click(sel('add-token'));
  await visible('create-token-dialog');
  // bob's own token expires in 60 days, nearer than the lifetime limit: the
  // picker offers no later date (GetProfile's latestExpiresOn), nor today.
  assert.deepEqual(await page.$eval(sel('create-token-expiry'), (n) => [n.min, n.max]),
    [isoDate(1), isoDate(60)], 'the picker runs from tomorrow to the expiry of bob\'s token');
  await fillCreate({ name: MARKUP, expiresOn: isoDate(20) });
  await readSecretDialog(MARKUP);
  await closeSecretDialog();
  const markupRow = await until('the markup token is listed', () => rowNamed('own-tokens-table', MARKUP));
  assert.equal(markupRow.status, 'ACTIVE');
  assert.equal(await page.evaluate(() => document.querySelector('img[src=x]')), null, 'no img element was created');
  assert.equal(await page.evaluate(() => document.querySelectorAll('main img, main b').length), 0, 'no markup of user input became elements');
  const bobNames = (await tokenRows('own-tokens-table')).map((r) => r.name).sort();
  assert.deepEqual(bobNames, [MARKUP, bobTokenName].sort(), 'bob sees his own tokens and only those');
  await screenshot('user-profile');
  noProblems('markup');

  // g. An admin route typed in directly shows no one else's tokens.
  log('g. bob opens #/admin/tokens');
  await page.goto(new URL('#/admin/tokens', CONSOLE_URL).href);
  await page.waitForFunction((s) => !document.querySelector(s).hidden, {}, sel('page-error'));
  assert.match(await text('page-error'), /Permission denied/);
  assert.equal(await page.$(sel('admin-tokens-view')), null, 'no User Tokens screen');
  assert.equal(await page.$(sel('all-tokens-table')), null, 'no all-users table');
  await visible('profile-view');
  await page.waitForSelector(sel('own-tokens-table'));
  const seen = (await tokenRows('own-tokens-table')).map((r) => r.name);
  assert.ok(!seen.includes(copiedName) && !seen.includes(keyboardName), 'no admin token is shown to bob');
  assert.equal(await page.$(sel('nav-admin')), null);
  await screenshot('user-admin-route-denied');
  noProblems('user');

  // j. Scopes by checkbox, and the expiry badge: the admin creates a token
  // with things:read only, expiring on the warning threshold's last day.
  log('j. a token with a scope, expiring soon');
  await signOut();
  await signIn(ADMIN_TOKEN);
  await page.click(sel('add-token'));
  await visible('create-token-dialog');
  const readOnlyName = 'e2e-read-only';
  const soon = WARNING_DAYS;
  await page.$eval(sel('create-token-name'), (n, v) => { n.value = v; }, readOnlyName);
  await page.$eval(sel('create-token-expiry'), (n, v) => { n.value = v; }, isoDate(soon));
  await page.click(`${sel('create-token-scope')}[value="things:read"]`);
  assert.deepEqual((await scopeBoxes()).map((b) => [b.scope, b.checked]), [['things:read', true], ['things:write', false]]);
  await screenshot('create-token-scopes');
  await page.click(sel('create-token-submit'));
  const readOnlySecret = await readSecretDialog(readOnlyName, 'things:read');
  await screenshot('secret-dialog-scopes');
  await closeSecretDialog();
  await secretForgotten(readOnlySecret);
  const readOnly = await until('the scoped token is listed', () => rowNamed('own-tokens-table', readOnlyName));
  assert.equal(readOnly.status, 'ACTIVE');
  assert.equal(readOnly.scopes, 'things:read', 'the list shows the token\'s scope');
  assert.equal(readOnly.expiresOn, isoDate(soon));
  assert.equal(readOnly.badge, `expires in ${soon} days`, 'a token within the threshold has its badge, in words');
  // Neither the revoked one (whatever its date) nor one 40 days out.
  assert.equal((await rowNamed('own-tokens-table', copiedName)).badge, null);
  assert.equal((await rowNamed('own-tokens-table', keyboardName)).badge, null);
  await screenshot('profile-token-scopes-badge');
  // On the admins' table too.
  await page.click(sel('nav-admin-tokens'));
  await visible('admin-tokens-view');
  const listed = await until('the scoped token is in the all-users table', () => rowNamed('all-tokens-table', readOnlyName));
  assert.equal(listed.scopes, 'things:read');
  assert.equal(listed.badge, `expires in ${soon} days`);
  assert.equal((await rowNamed('all-tokens-table', bobTokenName)).scopes, 'full access');
  await screenshot('admin-user-tokens-badge');
  noProblems('scopes');

  // k. Signed in with that scoped token: only its own scope can be chosen,
  // and one must be.
  log('k. the scoped token creates a token');
  await signOut();
  await signIn(readOnlySecret);
  await page.click(sel('add-token'));
  await visible('create-token-dialog');
  const limited = await scopeBoxes();
  assert.deepEqual(limited.map((b) => [b.scope, b.checked, b.disabled]), [['things:read', false, false], ['things:write', false, true]]);
  assert.match(limited[1].reason, /signed in with does not have this scope/, 'the disabled scope says why');
  assert.match(await text('create-token-scopes-hint'), /at least one/);
  const childName = 'e2e-scoped-child';
  await fillCreate({ name: childName, expiresOn: isoDate(soon - 1) });
  const scopesError = await visible('create-token-scopes-error');
  assert.equal(await scopesError.evaluate((n) => n.textContent), 'Choose at least one scope.');
  await screenshot('create-token-scoped-signin');
  await page.click(`${sel('create-token-scope')}[value="things:read"]`);
  await page.click(sel('create-token-submit'));
  await readSecretDialog(childName, 'things:read');
  await closeSecretDialog();
  const child = await until('the child token is listed', () => rowNamed('own-tokens-table', childName));
  assert.equal(child.scopes, 'things:read');
  assert.equal(child.badge, `expires in ${soon - 1} days`);
  noProblems('scoped sign-in');
  log('all steps passed');
}

main().catch((err) => {
  process.stderr.write(`console_e2e: FAILED: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
});
