// Journeys of issue 18 against the real platform: failed, cancelled and retried jobs; the live connection
// dropping and coming back; an access token the server no longer accepts; several people on one browser;
// server errors (HTML 502, 503 with Retry-After, 429); phone menu and keyboard focus.
import { writeFileSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { bulkUpload, createAlbum, createJob, createUser, login, openAs, PASSWORD, waitJob, type ApiUser } from "./api";
import { makePng } from "./helpers";

test.describe.configure({ mode: "serial" });

function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}

const historyRow = (page: Page) => page.getByRole("table").getByRole("row").nth(1);

test("a failed job shows its reason and can be retried; a queued job can be cancelled and retried", async ({ page }) => {
  test.setTimeout(150_000);
  const errors = collectErrors(page);
  const user = await createUser("jobs");
  // An original damaged in storage after upload: the worker refuses the job with a reason.
  const storage = process.env.RENOVO_E2E_STORAGE;
  test.skip(!storage, "RENOVO_E2E_STORAGE (the platform's storage folder) is not set");
  const [clear] = await bulkUpload(user, null, 1, [80, 60], { variants: 1 });
  writeFileSync(`${storage}/${clear.storage_key}`, Buffer.from("\x89PNG\r\n\x1a\n" + "garbage".repeat(10), "latin1"));
  const failing = await createJob(user, clear.id, "none");
  await waitJob(user, failing.id, (j) => j.status === "failed");

  await openAs(page, user, `/images/${clear.id}`);
  await expect(page.getByRole("heading", { name: clear.filename })).toBeVisible();
  await expect(historyRow(page)).toContainText("Failed");
  await expect(historyRow(page).locator(".status-error")).toHaveText(/.+/);
  await expect(page.getByRole("alert").filter({ hasText: "The last enhancement failed" })).toBeVisible();
  await page.getByRole("button", { name: "Retry None job" }).click();
  // The second attempt fails too, and says so (a toast, the row).
  await expect(page.getByRole("region", { name: "Messages" }).getByText("Enhancement failed")).toBeVisible({ timeout: 60_000 });
  await expect(historyRow(page)).toContainText("Failed");
  expect((await waitJob(user, failing.id, (j) => j.status === "failed")).attempt).toBe(2);

  // Keep the worker busy with large images so that the next job waits in the queue.
  const big = await bulkUpload(user, null, 8, [2400, 1800], { variants: 1 });
  const target = (await bulkUpload(user, null, 1, [120, 90], { variants: 1 }))[0];
  for (const image of big) await createJob(user, image.id, "none");
  await page.goto(`/images/${target.id}`);
  await page.getByLabel("Select type").selectOption({ label: "None" });
  await page.getByRole("button", { name: "Run", exact: true }).click();
  // The big images' "done" toasts stack over the history's corner (and pause while the pointer is on them):
  // cancel and retry from the keyboard, as a keyboard user would.
  await page.getByRole("button", { name: "Cancel None job" }).focus();
  await page.keyboard.press("Enter");
  await expect(historyRow(page)).toContainText("Cancelled");
  await page.screenshot({ path: new URL("../screenshots/desktop-image-cancelled.png", import.meta.url).pathname });
  await page.getByRole("button", { name: "Retry None job" }).focus();
  await page.keyboard.press("Enter");
  await expect(historyRow(page)).toContainText("Done", { timeout: 90_000 });
  await expect(page.getByRole("region", { name: "Compare before and after" })).toBeVisible();
  expect(errors).toEqual([]);
});

test("the live connection drops and comes back; the page catches up", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = collectErrors(page);
  const user = await createUser("reconnect");
  const [image] = await bulkUpload(user, null, 1, [100, 80], { variants: 1 });
  let blocked = false;
  const sockets: { close(): Promise<void> }[] = [];
  await page.routeWebSocket(/\/api\/notifications\/ws/, (ws) => {
    if (blocked) {
      void ws.close({ code: 1011, reason: "test: connection refused" });
      return;
    }
    ws.connectToServer();
    sockets.push(ws);
  });
  await openAs(page, user, `/images/${image.id}`);
  await expect(page.getByRole("heading", { name: image.filename })).toBeVisible();
  await expect.poll(() => sockets.length).toBeGreaterThan(0);

  // Cut the connection; while it is down a job is started and finished elsewhere (another device).
  blocked = true;
  for (const ws of sockets.splice(0)) await ws.close();
  await expect(page.getByText("Reconnecting…")).toBeVisible();
  const job = await createJob(user, image.id, "none");
  await waitJob(user, job.id, (j) => j.status === "completed");
  blocked = false;
  // Back online (the browser says so at once; otherwise the back-off retries): the history catches up.
  await page.evaluate(() => window.dispatchEvent(new Event("online")));
  await expect(page.getByText("Reconnecting…")).toBeHidden({ timeout: 40_000 });
  await expect(historyRow(page)).toContainText("Done", { timeout: 20_000 });
  await expect(page.getByRole("region", { name: "Compare before and after" })).toBeVisible();
  expect(errors).toEqual([]);
});

test("an access token the server refuses is renewed without asking for the password; a dead session asks", async ({ page }) => {
  const user = await createUser("expiry");
  await openAs(page, user, "/");
  await expect(page.getByRole("heading", { name: "All images" })).toBeVisible();
  // The server no longer accepts the access token (expired, or signed with a key since rotated).
  await page.evaluate(() => {
    const t = JSON.parse(localStorage.getItem("renovo.tokens")!);
    localStorage.setItem("renovo.tokens", JSON.stringify({ ...t, access_token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad" }));
  });
  await page.goto("/settings");
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
  await expect(page.getByText(`Signed in as ${user.email}`)).toBeVisible();
  const renewed = await page.evaluate(() => JSON.parse(localStorage.getItem("renovo.tokens")!).access_token as string);
  expect(renewed).not.toContain(".bad");
  await expect(page.getByText("Reconnecting…")).toBeHidden();

  // Both tokens dead: the login form, which brings the person back where they were.
  await page.evaluate(() => {
    localStorage.setItem("renovo.tokens", JSON.stringify({ access_token: "x.y.z", refresh_token: "gone", expires_at: Date.now() + 60_000 }));
  });
  await page.goto("/settings");
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
});

test("the next person at the browser sees nothing of the previous one; another tab switching user switches this one", async ({ page, context }) => {
  const errors = collectErrors(page);
  const ada: ApiUser = await createUser("ada", "Ada");
  const bob: ApiUser = await createUser("bob", "Bob");
  const album = await createAlbum(ada, "Grandma's photos");
  await openAs(page, ada, `/albums/${album.id}`);
  await expect(page.getByRole("heading", { name: "Grandma's photos" })).toBeVisible();
  await page.getByTestId("dropzone").locator('input[type="file"]').setInputFiles([
    { name: "ada.png", mimeType: "image/png", buffer: makePng(90, 60, 3) },
  ]);
  const uploads = page.getByRole("region", { name: "Uploads" });
  await expect(uploads.getByText("Uploaded", { exact: true })).toBeVisible();
  // The upload list survives navigation.
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(uploads.getByText("ada.png")).toBeVisible();

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await page.getByLabel("Email").fill(bob.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
  await expect(page.getByText(`Signed in as ${bob.email}`)).toBeVisible();
  await expect(page.getByRole("region", { name: "Uploads" })).toHaveCount(0);
  await expect(page.getByText("Grandma's photos")).toHaveCount(0);
  await expect(page.getByText("ada.png")).toHaveCount(0);

  // Another tab signs in as Ada: this tab follows (it would otherwise show Bob while sending Ada's token).
  const adaAgain = await login(ada.email); // her first session ended with the log out above
  const other = await context.newPage();
  await other.goto("/login");
  await other.evaluate((t) => {
    localStorage.setItem(
      "renovo.tokens",
      JSON.stringify({ access_token: t.access_token, refresh_token: t.refresh_token, expires_at: Date.now() + t.expires_in * 1000 }),
    );
  }, adaAgain);
  await expect(page.getByText(`Signed in as ${ada.email}`)).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Albums" }).getByText("Grandma's photos")).toBeVisible();
  await expect(page.locator(".account-name")).toHaveText("Ada");
  await other.close();
  expect(errors).toEqual([]);
});

test("server errors say what happened and what to do; 503 and 429 are retried", async ({ page }) => {
  test.setTimeout(90_000);
  const user = await createUser("errors");
  const [image] = await bulkUpload(user, null, 1, [100, 80], { variants: 1 });

  // A proxy's HTML 502 page while listing photos.
  await page.route(/\/api\/images\?/, (route) =>
    route.fulfill({ status: 502, contentType: "text/html", body: "<html><body><h1>502 Bad Gateway</h1></body></html>" }),
  );
  await openAs(page, user, "/");
  const alert = page.getByRole("alert").filter({ hasText: "not answering (502)" });
  await expect(alert).toBeVisible({ timeout: 20_000 });
  await expect(page.getByText("Unexpected token")).toHaveCount(0);
  await page.unroute(/\/api\/images\?/);
  await alert.getByRole("button", { name: "Try again" }).click();
  await expect(page.getByRole("link", { name: image.filename })).toBeVisible();

  // Renovo restarting: /me answers 503 at start. That is not a reason to ask for the password.
  await page.route("**/api/auth/me", (route) =>
    route.fulfill({ status: 503, headers: { "Retry-After": "1" }, contentType: "application/json", body: JSON.stringify({ error: { code: "unavailable", message: "Renovo is starting up." } }) }),
  );
  await page.reload();
  await expect(page.getByRole("heading", { name: "Renovo cannot be reached right now" })).toBeVisible({ timeout: 20_000 });
  await expect(page.getByRole("heading", { name: "Log in" })).toHaveCount(0);
  await page.unroute("**/api/auth/me");
  await page.getByRole("button", { name: "Try again" }).click();
  await expect(page.getByRole("heading", { name: "All images" })).toBeVisible();

  // Too many requests, then accepted: the same Idempotency-Key is sent again after Retry-After.
  const keys: string[] = [];
  let refused = 0;
  await page.route("**/api/jobs", async (route) => {
    if (route.request().method() !== "POST") return route.fallback();
    keys.push(route.request().headers()["idempotency-key"]);
    if (refused++ < 1) {
      return route.fulfill({ status: 429, headers: { "Retry-After": "1" }, contentType: "application/json", body: JSON.stringify({ error: { code: "rate_limited", message: "Slow down." } }) });
    }
    return route.fallback();
  });
  await page.goto(`/images/${image.id}`);
  await page.getByLabel("Select type").selectOption({ label: "None" });
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await expect(historyRow(page)).toContainText("Done", { timeout: 60_000 });
  expect(keys).toHaveLength(2);
  expect(keys[0]).toBe(keys[1]);
});

test("phones and keyboards: settings from the menu, a focus-trapping menu, focus on each new screen", async ({ page }) => {
  const user = await createUser("phone");
  const album = await createAlbum(user, "Summer");
  await page.setViewportSize({ width: 390, height: 844 });
  await openAs(page, user, `/albums/${album.id}`);
  await expect(page.getByRole("heading", { name: "Summer" })).toBeVisible();
  const menu = page.getByRole("button", { name: "Albums menu", exact: true });
  const panel = page.getByRole("navigation", { name: "Albums" });
  await menu.click();
  await expect(panel.getByRole("link", { name: "All images" })).toBeFocused();
  // Tab stays in the menu: past the last control it comes back to the first.
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    expect(await panel.evaluate((node) => node.contains(document.activeElement))).toBe(true);
  }
  await page.keyboard.press("Escape");
  await expect(panel).toBeHidden();
  await expect(menu).toBeFocused();
  // Settings is reachable on a phone.
  await menu.click();
  await panel.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Settings" })).toBeFocused();
  await page.screenshot({ path: new URL("../screenshots/phone-settings-from-menu.png", import.meta.url).pathname });
});
