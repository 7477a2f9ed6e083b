// lib.mjs - what the browser tests share: a sandbox (impactchat + wa-sim,
// started by launch.py), Debian's Chromium driven by playwright-core (never a
// downloaded browser), screenshots, and the page's console errors.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

export const BIN_DIR = path.resolve(process.env.IC_BIN_DIR || path.join(root, 'build'));
export const SHOTS = path.resolve(process.env.IC_SCREENSHOTS || path.join(BIN_DIR, 'screenshots'));
export const CHROMIUM = process.env.IC_CHROMIUM || '/usr/bin/chromium';
// What a cheap laptop shows.
export const VIEWPORT = { width: 1366, height: 768 };

/** Starts launch.py; resolves with its JSON line plus stop() (resolves on exit). */
export function startSandbox() {
  const child = spawn('python3', [path.join(here, 'launch.py')], {
    env: { ...process.env, IC_BIN_DIR: BIN_DIR, IC_TEST_TMP: process.env.IC_TEST_TMP || path.join(BIN_DIR, 'tmp') },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGTERM'); reject(new Error('sandbox did not start in 60 s')); }, 60000);
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const sb = JSON.parse(line);
      sb.stop = async () => { child.stdin.end(); return exited; };
      resolve(sb);
    });
    exited.then((code) => { clearTimeout(timer); reject(new Error('sandbox exited with ' + code)); });
  });
}

/** Launches Debian's Chromium, headless. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** A new page at VIEWPORT whose console errors, page errors and CSP
 * violations are collected in page.errors (except those allowed by
 * allow(msg): an expected 401 answer, say). */
export async function newPage(browser, allow = () => false) {
  const context = await browser.newContext({ viewport: VIEWPORT, locale: 'en-GB' });
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error' || allow(msg)) return;
    page.errors.push(`${msg.text()} (${msg.location().url || 'no url'})`);
  });
  page.on('pageerror', (err) => page.errors.push('page error: ' + err.message));
  return page;
}

/** Saves a screenshot as SHOTS/name.png. */
export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name + '.png') });
}

/** The id (or tag, type) of the focused element, for focus-order checks. */
export function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'body';
    return el.id || `${el.tagName.toLowerCase()}${el.type ? '[' + el.type + ']' : ''}`;
  });
}

/** POSTs JSON; resolves with [status, parsed answer]. */
export async function postJson(url, body, headers = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let data = text;
  try { data = JSON.parse(text); } catch (e) { /* not JSON */ }
  return [res.status, data];
}

/** A step(name, fn) for a file of tests that build on each other: once one
 * fails, the rest are skipped instead of each waiting out its timeouts.
 * onFail (optional, awaited) runs when a step fails, before the error goes
 * on: to take screenshots of what each person saw. */
export function stepper(onFail = async () => {}) {
  let failed = null;
  return function step(name, fn) {
    test(name, async (t) => {
      if (failed) {
        t.skip(`an earlier step failed: ${failed}`);
        return;
      }
      try {
        await fn(t);
      } catch (e) {
        failed = name;
        await onFail();
        throw e;
      }
    });
  };
}
