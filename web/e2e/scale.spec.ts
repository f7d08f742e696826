// An album of 1,500 photos: the album opens, every photo can be scrolled to, and the figures of issue 18 are
// measured (time to first thumbnail, thumbnail requests in the first 5 s, the browser's memory growth while
// scrolling through). Figures are printed and saved to screenshots/scale-1500.json, never asserted.
import { readFileSync, writeFileSync } from "node:fs";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { bulkUpload, createAlbum, createUser, listAlbumImages, openAs } from "./api";
import { SHOTS } from "./helpers";

const COUNT = Number(process.env.RENOVO_E2E_SCALE_COUNT ?? 1500);
const MiB = 1024 * 1024;

test.describe.configure({ mode: "serial" });

/** Proportional set size of every process of the browser (renderers, GPU, network, browser), in bytes. */
async function browserPss(browser: Browser): Promise<number | null> {
  try {
    const cdp = await browser.newBrowserCDPSession();
    const info = (await cdp.send("SystemInfo.getProcessInfo")) as { processInfo: { id: number }[] };
    await cdp.detach();
    let total = 0;
    for (const { id } of info.processInfo) {
      try {
        const text = readFileSync(`/proc/${id}/smaps_rollup`, "utf8");
        const kb = /^Pss:\s+(\d+) kB/m.exec(text);
        if (kb) total += Number(kb[1]) * 1024;
      } catch {
        // The process ended meanwhile.
      }
    }
    return total || null;
  } catch {
    return null;
  }
}

async function jsHeap(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("HeapProfiler.collectGarbage");
  await cdp.send("Performance.enable");
  const { metrics } = (await cdp.send("Performance.getMetrics")) as { metrics: { name: string; value: number }[] };
  await cdp.detach();
  return metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0;
}

/**
 * The browser's memory as it stands (`pss`), and what it keeps once asked to free what it can (`kept`: after a
 * critical memory-pressure signal, which drops decoded-image caches and discardable memory, the way a phone
 * low on memory would), with the page's JavaScript heap after a garbage collection.
 */
async function memory(browser: Browser, page: Page) {
  const heap = await jsHeap(page);
  await page.waitForTimeout(500);
  const pss = await browserPss(browser);
  try {
    const cdp = await browser.newBrowserCDPSession();
    await cdp.send("Memory.simulatePressureNotification", { level: "critical" });
    await cdp.detach();
  } catch {
    // Not offered by this browser: `kept` then equals `pss` taken a second later.
  }
  await page.waitForTimeout(1000);
  return { pss, kept: await browserPss(browser), heap };
}

test(`an album of ${COUNT} photos opens fast and scrolls with bounded memory`, async ({ browser, page }) => {
  test.setTimeout(300_000);
  const user = await createUser("scale");
  const album = await createAlbum(user, "Everything from the attic");
  const started = Date.now();
  const uploaded = await bulkUpload(user, album.id, COUNT, [400, 300]);
  const uploadSeconds = (Date.now() - started) / 1000;
  expect(uploaded).toHaveLength(COUNT);
  // The gallery shows the newest first. Batches upload three at a time, so which photo the server stored
  // first is a race: ask the server which one is last instead of guessing from the file names.
  const listed = await listAlbumImages(user, album.id);
  expect(listed).toHaveLength(COUNT);
  const oldest = listed[listed.length - 1];

  const thumbRequests: number[] = [];
  let t0 = 0;
  page.on("request", (request) => {
    if (/\/api\/images\/[^/]+\/thumbnail/.test(request.url())) thumbRequests.push(Date.now() - t0);
  });

  await openAs(page, user, "/");
  await expect(page.getByRole("heading", { name: "All images" })).toBeVisible();
  thumbRequests.length = 0;
  t0 = Date.now();
  await page.goto(`/albums/${album.id}`);
  await page.waitForFunction(
    () => Array.from(document.querySelectorAll("main img")).some((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0),
    undefined,
    { polling: "raf", timeout: 30_000 },
  );
  const firstThumbMs = Date.now() - t0;
  await page.waitForTimeout(Math.max(0, 5000 - (Date.now() - t0)));
  const requestsIn5s = thumbRequests.filter((t) => t <= 5000).length;
  const before = await memory(browser, page);

  // Scroll to the end a screen at a time, the way a person flicks through.
  let peakPss = before.pss ?? 0;
  let atEndSince = 0;
  const scrollStart = Date.now();
  for (let step = 0; Date.now() - scrollStart < 180_000; step++) {
    const done = await page.evaluate(() => {
      window.scrollBy(0, window.innerHeight * 0.9);
      const el = document.scrollingElement!;
      // The end of the list, not just of what is loaded so far (both versions show a spinner or "Load more").
      const more = document.querySelector(".grid-end .spinner, .grid-end button");
      return !more && el.scrollTop + window.innerHeight >= el.scrollHeight - 4;
    });
    await page.waitForTimeout(120);
    if (step % 25 === 0) peakPss = Math.max(peakPss, (await browserPss(browser)) ?? 0);
    if (done) {
      atEndSince ||= Date.now();
      if (Date.now() - atEndSince > 4000) break;
    } else atEndSince = 0;
  }
  const scrollSeconds = (Date.now() - scrollStart) / 1000;
  // The oldest photo is last, and it is there.
  const lastLink = page.locator(`a[href="/images/${oldest.id}"]`);
  await expect(async () => {
    await page.evaluate(() => window.scrollTo(0, document.scrollingElement!.scrollHeight));
    await expect(lastLink).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 60_000 });
  await expect(lastLink.locator("img")).toBeVisible();
  const imgsInPage = await page.locator("main img").count();
  await page.waitForTimeout(1500);
  const after = await memory(browser, page);
  peakPss = Math.max(peakPss, after.pss ?? 0);

  const figures = {
    photos: COUNT,
    upload_seconds: uploadSeconds,
    first_thumbnail_ms: firstThumbMs,
    thumbnail_requests_first_5s: requestsIn5s,
    thumbnail_requests_total: thumbRequests.length,
    img_elements_at_end: imgsInPage,
    scroll_seconds: scrollSeconds,
    browser_pss_before_mib: before.pss && +(before.pss / MiB).toFixed(1),
    browser_pss_after_mib: after.pss && +(after.pss / MiB).toFixed(1),
    browser_pss_growth_mib: before.pss && after.pss && +((after.pss - before.pss) / MiB).toFixed(1),
    browser_pss_peak_growth_mib: before.pss && +((peakPss - before.pss) / MiB).toFixed(1),
    browser_kept_before_mib: before.kept && +(before.kept / MiB).toFixed(1),
    browser_kept_after_mib: after.kept && +(after.kept / MiB).toFixed(1),
    browser_kept_growth_mib: before.kept && after.kept && +((after.kept - before.kept) / MiB).toFixed(1),
    js_heap_before_mib: +(before.heap / MiB).toFixed(1),
    js_heap_after_mib: +(after.heap / MiB).toFixed(1),
  };
  console.log(`scale-1500 ${JSON.stringify(figures)}`);
  writeFileSync(`${SHOTS}scale-1500.json`, JSON.stringify(figures, null, 2) + "\n");

  // Coming back from a photo finds the gallery where it was left. The grid is virtualised, so a positional
  // locator such as nth(10) names another photo after each scroll: take one well inside the screen by its address,
  // which stays put, and click it without scrolling.
  await page.evaluate(() => window.scrollTo(0, document.scrollingElement!.scrollHeight / 2));
  await page.waitForTimeout(500);
  const href = await page.evaluate(() => {
    const inView = Array.from(document.querySelectorAll("main a.thumb")).filter((a) => {
      const r = a.getBoundingClientRect();
      return r.top >= window.innerHeight / 3 && r.bottom <= window.innerHeight;
    });
    return inView[0]?.getAttribute("href") ?? null;
  });
  expect(href).toMatch(/^\/images\//);
  const middle = page.locator(`main a[href="${href}"]`);
  await expect(middle).toBeInViewport({ ratio: 1 });
  const scrolled = await page.evaluate(() => window.scrollY);
  await middle.click();
  await expect(page.getByRole("heading", { level: 1 })).not.toHaveText(/Everything from the attic/);
  await page.goBack();
  await expect(page.getByRole("heading", { name: "Everything from the attic" })).toBeVisible();
  await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(scrolled - 50);
  expect(Math.abs((await page.evaluate(() => window.scrollY)) - scrolled)).toBeLessThan(50);
  await expect(page.locator(`main a[href="${href}"]`)).toBeAttached();
});
