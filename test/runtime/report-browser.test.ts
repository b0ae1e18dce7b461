/**
 * The report and the receiver's browse page in a real headless browser
 * (Debian's chromium driven by puppeteer-core): every image loads, no
 * console error, the counts on the page equal the run's and the receiver's,
 * a card opens its full frame with every box.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { PROJECT_ROOT, TRAFFIC_CLIPS_DIR } from '../../src/paths.js';
import { HttpSender } from '../../src/upload/index.js';
import { makeJpeg, makePackage, spawnReceiver } from '../upload/helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const skip = CHROMIUM ? false : 'chromium is not installed (scripts/setup.sh installs Debian\'s chromium)';

async function withPage<T>(fn: (page: Page, errors: string[]) => Promise<T>): Promise<T> {
  const browser: Browser = await puppeteer.launch({ executablePath: CHROMIUM!, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1300, height: 1000 });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    return await fn(page, errors);
  } finally {
    await browser.close();
  }
}

/** Images that did not load (naturalWidth 0), after waiting for every one to settle. */
// The page-side code is written as strings: it runs in chromium, and the project compiles without the DOM types.
async function brokenImages(page: Page): Promise<string[]> {
  return (await page.evaluate(`(async () => {
    const imgs = [...document.images];
    await Promise.all(imgs.map((i) => (i.complete ? null : new Promise((r) => { i.addEventListener('load', r); i.addEventListener('error', r); }))));
    return imgs.filter((i) => i.naturalWidth === 0).map((i) => i.src);
  })()`)) as string[];
}

test('the report of a real replay: images load, counts match the run, a card opens its full frame', { skip, timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-report-browser-'));
  try {
    execFileSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'demo', '--clip', join(TRAFFIC_CLIPS_DIR, 'motorway-cctv.avi')], {
      env: { ...process.env, BESTSHOT_DEMO_DIR: dir, BESTSHOT_FROM_SOURCE: '1' },
      encoding: 'utf8',
    });
    const run = join(dir, 'run');
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')) as { delivered: number; packagesImmediate: number; packagesCached: number; objectsTracked: number };
    const logged = readFileSync(join(run, 'uploads.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { idempotencyKey: string; selectedTrackIds: number[]; tracks: unknown[] });
    const objects = new Set(logged.flatMap((u) => u.selectedTrackIds));
    await withPage(async (page, errors) => {
      await page.goto(`file://${join(run, 'report', 'report.html')}`, { waitUntil: 'load' });
      assert.deepEqual(await brokenImages(page), []);
      const counts = (await page.evaluate(`({
        uploads: Number(document.body.dataset.uploads),
        objects: Number(document.body.dataset.objects),
        cards: document.querySelectorAll('.card').length,
        frames: document.querySelectorAll('section.frame').length,
        delivered: Number(document.getElementById('delivered').textContent),
        immediate: Number(document.getElementById('packages-immediate').textContent),
        cached: Number(document.getElementById('packages-cached').textContent),
        classTotal: [...document.querySelectorAll('.cls b')].reduce((a, b) => a + Number(b.textContent), 0),
        timelineRows: [...document.querySelectorAll('svg text')].filter((t) => /^#\\d+ /.test(t.textContent || '')).length,
      })`)) as Record<string, number>;
      assert.equal(counts.uploads, logged.length);
      assert.equal(counts.frames, logged.length, 'every upload has its full frame');
      assert.equal(counts.objects, objects.size);
      assert.equal(counts.cards, objects.size);
      assert.equal(counts.classTotal, objects.size, 'class counts add up to the objects shown');
      assert.equal(counts.timelineRows, objects.size, 'one labelled timeline row per object');
      assert.equal(counts.delivered, summary.delivered);
      assert.equal(counts.immediate, summary.packagesImmediate);
      assert.equal(counts.cached, summary.packagesCached);
      // Label text is a fixed pixel size whatever the crop's scale.
      const sizes = (await page.evaluate(`[...document.querySelectorAll('.card .tag')].map((t) => getComputedStyle(t).fontSize)`)) as string[];
      assert.ok(sizes.length > 0 && sizes.every((s) => s === '12px'), sizes.join(','));
      // Click the first card: its full frame opens with a box per track in that frame.
      const href = (await page.evaluate(`document.querySelector('.card a.crop').getAttribute('href')`)) as string | null;
      assert.ok(href);
      await page.click('.card a.crop');
      const opened = (await page.evaluate(`(() => {
        const s = document.getElementById(${JSON.stringify(href.slice(1))});
        return s ? { display: getComputedStyle(s).display, boxes: s.querySelectorAll('.bx').length } : null;
      })()`)) as { display: string; boxes: number } | null;
      assert.ok(opened && opened.display !== 'none', `frame ${href} did not open`);
      const key = href.slice(3);
      const frame = logged.find((u) => u.idempotencyKey.replace(/[^A-Za-z0-9_-]/g, '_') === key);
      assert.ok(frame);
      assert.equal(opened.boxes, frame.tracks.length);
      assert.deepEqual(errors, []);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the receiver's browse page: token swapped for a cookie, every stored image loads, count equals the store", { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-browse-'));
  const token = 'browse-test-token';
  const receiver = await spawnReceiver(['--port', '0', '--dir', join(dir, 'rcv'), '--token', token, '--quiet']);
  try {
    const sender = new HttpSender({ url: `${receiver.url}/packages`, token });
    for (let i = 1; i <= 7; i++) {
      const pkg = makePackage('gate', i, await makeJpeg(i, 96, 64));
      // Hostile text in a stored label must show as text, never as markup.
      if (i === 3) pkg.metadata.tracks[0]!.entry.box.label = '<img src=x onerror=alert(1)>';
      const r = await sender.send(pkg);
      assert.equal(r.kind, 'ok', JSON.stringify(r));
    }
    sender.close();
    const unauth = await fetch(`${receiver.url}/browse`);
    assert.equal(unauth.status, 401, 'the page is protected like the rest');
    const wrong = await fetch(`${receiver.url}/browse?token=nope`, { redirect: 'manual' });
    assert.equal(wrong.status, 401);
    await withPage(async (page, errors) => {
      await page.goto(`${receiver.url}/browse?token=${token}`, { waitUntil: 'load' });
      assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
      assert.deepEqual(await brokenImages(page), []);
      const shown = await page.evaluate(`({ stored: Number(document.body.dataset.stored), cards: document.querySelectorAll('.pkg').length, injected: document.querySelectorAll('figcaption img').length })`);
      assert.deepEqual(shown, { stored: 7, cards: 7, injected: 0 });
      const cookies = await page.cookies();
      assert.ok(cookies.some((c) => c.name === 'bestshot_token' && c.httpOnly), 'HttpOnly cookie set');
      assert.deepEqual(errors, []);
    });
  } finally {
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
