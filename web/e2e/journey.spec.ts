// The journeys of issue 5 in a real browser against the real platform (RENOVO_E2E_URL, default the local gateway).
import { readFileSync, writeFileSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { dropFiles, makePng, SHOTS, uniqueEmail } from "./helpers";

const PASSWORD = "correct horse battery staple";
const owner = { email: uniqueEmail("owner"), name: "Ada Owner" };
const stranger = { email: uniqueEmail("stranger"), name: "Sam Stranger" };
const ALBUM = "Grandma's photos";
let imageUrl = "";

test.describe.configure({ mode: "serial" });

async function shot(page: Page, name: string) {
  await page.waitForTimeout(150); // let transitions settle
  await page.screenshot({ path: `${SHOTS}${name}.png` });
}

async function signUp(page: Page, who: { email: string; name: string }) {
  await page.goto("/signup");
  await page.getByLabel("Your name (optional)").fill(who.name);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.getByRole("heading", { name: "All images" })).toBeVisible();
}

test("sign up, album, upload by drop zone, run, compare, download", async ({ page, context, baseURL }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  // Allow notifications and record the ones the page shows (headless Chromium displays none).
  await context.grantPermissions(["notifications"], { origin: baseURL });
  await page.addInitScript(() => {
    const shown: string[] = [];
    (window as unknown as { __notifications: string[] }).__notifications = shown;
    const Real = window.Notification;
    class Recording extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        shown.push(title);
      }
    }
    Object.defineProperty(Recording, "permission", { get: () => Real.permission });
    window.Notification = Recording as typeof Notification;
  });
  await page.goto("/");
  // The page's load time as built and served by the gateway, for the issue note.
  const timing = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    return { domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd), loadMs: Math.round(nav.loadEventEnd) };
  });
  writeFileSync(`${SHOTS}load-time.json`, JSON.stringify(timing, null, 2) + "\n");
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await shot(page, "desktop-login");
  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page.getByRole("heading", { name: "Create your account" })).toBeVisible();
  await shot(page, "desktop-signup");
  await signUp(page, owner);

  // Stays logged in across a reload (refresh token kept).
  await page.reload();
  await expect(page.getByRole("heading", { name: "All images" })).toBeVisible();

  // Album.
  await page.getByRole("button", { name: "+ Add album" }).click();
  await page.getByLabel("Album name").fill(ALBUM);
  await page.getByRole("button", { name: "Create album" }).click();
  await expect(page.getByRole("heading", { name: ALBUM })).toBeVisible();
  const albums = page.getByRole("navigation", { name: "Albums" });
  await expect(albums.getByRole("link", { name: new RegExp(ALBUM) })).toHaveAttribute("aria-current", "page");

  // Upload through the file input inside the drop zone...
  const zone = page.getByTestId("dropzone");
  await zone.locator('input[type="file"]').setInputFiles([
    { name: "portrait.png", mimeType: "image/png", buffer: makePng(96, 64, 1) },
  ]);
  await expect(page.getByRole("list", { name: "Images" }).getByRole("listitem")).toHaveCount(1);
  // ...and by dropping files on it: a second image, a file that is not an image (refused in the page) and one
  // that only pretends to be a PNG (refused by the server), without losing the good one.
  await dropFiles(page, '[data-testid="dropzone"]', [
    { name: "garden.png", mimeType: "image/png", buffer: makePng(120, 80, 2) },
    { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a picture") },
    { name: "broken.png", mimeType: "image/png", buffer: Buffer.from("this is not really a PNG file") },
  ]);
  const uploads = page.getByRole("region", { name: "Uploads" });
  const row = (name: string) => uploads.getByRole("listitem").filter({ hasText: name });
  await expect(row("notes.txt").getByText(/Refused: .+/)).toBeVisible();
  await expect(row("broken.png").getByText(/Refused: .+/)).toBeVisible();
  await expect(row("garden.png").getByText("Uploaded")).toBeVisible();
  await expect(page.getByRole("list", { name: "Images" }).getByRole("listitem")).toHaveCount(2);
  await expect(page.getByRole("list", { name: "Images" }).locator("img")).toHaveCount(2);
  await expect(albums.getByLabel("2 images")).toBeVisible();
  await shot(page, "desktop-album");

  // Image detail: run `none` and wait for the completion notification.
  await page.getByRole("link", { name: "portrait.png" }).click();
  await expect(page.getByRole("heading", { name: "portrait.png" })).toBeVisible();
  imageUrl = page.url();
  const type = page.getByLabel("Select type");
  await expect(type).toBeVisible();
  await type.selectOption({ label: "None" });
  await expect(page.getByLabel("Scale")).toHaveCount(0);
  await shot(page, "desktop-image");
  await page.getByRole("button", { name: "Run", exact: true }).click();
  const toast = page.getByRole("region", { name: "Messages" }).getByText("Your image is ready");
  await expect(toast).toBeVisible({ timeout: 60_000 });
  const shown = await page.evaluate(() => (window as unknown as { __notifications: string[] }).__notifications);
  expect(shown).toContain("Renovo: your image is ready");

  // Compare: slider by keyboard, then side by side.
  const compare = page.getByRole("region", { name: "Compare before and after" });
  await expect(compare).toBeVisible();
  await expect(compare.getByLabel("Left")).toHaveValue("original");
  await expect(compare.getByRole("img", { name: /None/ })).toBeVisible();
  const slider = compare.getByLabel("Before/after position");
  await slider.focus();
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  await expect(slider).toHaveValue("52");
  await shot(page, "desktop-compare-slider");
  await compare.getByRole("button", { name: "Side by side" }).click();
  await expect(compare.getByRole("figure", { name: "Original" })).toBeVisible();
  await expect(compare.getByRole("img", { name: /Original/ })).toBeVisible();
  await shot(page, "desktop-compare-side");

  // History row.
  const history = page.getByRole("table");
  await expect(history.getByRole("cell", { name: "None", exact: true })).toBeVisible();
  await expect(history.getByText("Done")).toBeVisible();

  // Downloads.
  const [result] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download result" }).click(),
  ]);
  expect(result.suggestedFilename()).toBe("portrait_none.png");
  const resultBytes = readFileSync((await result.path())!);
  expect(resultBytes.subarray(1, 4).toString("ascii")).toBe("PNG");
  const [original] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download original" }).click(),
  ]);
  expect(original.suggestedFilename()).toBe("portrait.png");

  // Several at once: one type as PNG and as WebP in one action, then compare those two results at actual size.
  const enhance = page.getByRole("region", { name: "Enhance" });
  await enhance.getByLabel("Select type").selectOption({ label: "None" });
  await enhance.getByLabel("Result format").selectOption("png");
  await enhance.getByRole("button", { name: "Add another type to this run" }).click();
  await enhance.getByLabel("Result format").selectOption("webp");
  await expect(enhance.getByRole("list", { name: "Types in this run" })).toContainText("None, PNG");
  await expect(enhance.getByRole("list", { name: "Types in this run" })).toContainText("None, WebP q90");
  await shot(page, "desktop-several-types");
  await enhance.getByRole("button", { name: "Run 2 types" }).click();
  await expect(history.getByText("Done")).toHaveCount(3, { timeout: 60_000 });
  await expect(page).toHaveURL(/\?job=/);
  const two = page.getByRole("region", { name: "Compare before and after" });
  const left = two.getByLabel("Left");
  const right = two.getByLabel("Right");
  await expect(left.locator("option")).toHaveCount(4);
  const labels = await left.locator("option").allTextContents();
  const png = labels.find((l) => l.startsWith("None, PNG"))!;
  const webp = labels.find((l) => l.startsWith("None, WebP"))!;
  expect(png && webp).toBeTruthy();
  await left.selectOption({ label: png });
  await right.selectOption({ label: webp });
  await expect(two.getByRole("img", { name: `portrait.png, ${png}` })).toBeVisible();
  await expect(two.getByRole("img", { name: `portrait.png, ${webp}` })).toBeVisible();
  await shot(page, "desktop-compare-two-results");
  await two.getByRole("button", { name: "Side by side" }).click();
  await two.getByRole("button", { name: "Actual size (100 %)" }).click();
  const panes = two.getByRole("region", { name: /at actual size/ });
  await expect(panes).toHaveCount(2);
  await expect(two.getByRole("img", { name: `portrait.png, ${webp}` })).toBeVisible();
  // Panning one side pans the other.
  await panes.nth(0).evaluate((el) => {
    el.scrollLeft = 20;
    el.scrollTop = 10;
    el.dispatchEvent(new Event("scroll"));
  });
  await expect.poll(() => panes.nth(1).evaluate((el) => [el.scrollLeft, el.scrollTop])).toEqual(
    await panes.nth(0).evaluate((el) => [el.scrollLeft, el.scrollTop]),
  );
  await shot(page, "desktop-compare-actual-size");

  // One type for the whole album, with overall progress.
  await page.getByRole("link", { name: `← ${ALBUM}` }).click();
  await page.getByRole("button", { name: "Apply to whole album" }).click();
  const apply = page.getByRole("region", { name: "Apply to whole album" });
  await apply.getByLabel("Select type").selectOption({ label: "None" });
  await apply.getByRole("button", { name: "Run on whole album" }).click();
  const batch = page.getByRole("region", { name: /Album progress/ });
  await expect(batch.getByRole("progressbar")).toBeVisible();
  await expect(batch.getByRole("status")).toHaveText(/Finished: 2 of 2 done/, { timeout: 60_000 });
  await expect(page.getByRole("region", { name: "Messages" }).getByText(/done/)).toBeVisible();
  await shot(page, "desktop-album-applied");

  // Albums can be renamed and deleted.
  await page.getByRole("button", { name: "+ Add album" }).click();
  await page.getByLabel("Album name").fill("Scratch");
  await page.getByRole("button", { name: "Create album" }).click();
  await expect(page.getByRole("heading", { name: "Scratch" })).toBeVisible();
  await page.getByRole("button", { name: "Rename album" }).click();
  await page.getByLabel("New album name").fill("Scratch pad");
  await page.getByRole("button", { name: "Save name" }).click();
  await expect(page.getByRole("heading", { name: "Scratch pad" })).toBeVisible();
  await expect(albums.getByRole("link", { name: /Scratch pad/ })).toBeVisible();
  await page.getByRole("button", { name: "Delete album" }).click();
  await page.getByRole("button", { name: "Yes, delete album" }).click();
  await expect(page.getByRole("heading", { name: "All images" })).toBeVisible();
  await expect(albums.getByRole("link", { name: /Scratch/ })).toHaveCount(0);

  // Settings.
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
  await expect(page.getByLabel("Display name")).toHaveValue(owner.name);
  await shot(page, "desktop-settings");

  // Phone size: the album panel becomes an off-canvas menu.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "All images" })).toBeVisible();
  await expect(page.getByRole("list", { name: "Images" }).locator("img")).toHaveCount(2);
  await shot(page, "phone-gallery");
  const menu = page.getByRole("button", { name: "Albums menu", exact: true });
  await expect(albums).toBeHidden();
  await menu.click();
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await expect(albums.getByRole("link", { name: new RegExp(ALBUM) })).toBeVisible();
  await shot(page, "phone-menu");
  await page.keyboard.press("Escape");
  await expect(albums).toBeHidden();
  await page.goto(imageUrl);
  await expect(page.getByRole("region", { name: "Compare before and after" })).toBeVisible();
  await expect(page.getByRole("img", { name: /None/ })).toBeVisible();
  await shot(page, "phone-image");
  await page.goto("/settings");
  await shot(page, "phone-settings");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await shot(page, "phone-login");
  expect(errors).toEqual([]);
});

test("clear errors on sign up and log in", async ({ page }) => {
  await page.goto("/signup");
  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  const alert = page.getByRole("alert");
  await expect(alert).toHaveText(/.+/);
  const taken = await alert.textContent();
  await page.getByLabel("Email").fill(uniqueEmail("weak"));
  await page.getByLabel("Password").fill("a");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(alert).not.toHaveText(taken!);
  await expect(alert).toHaveText(/.+/);
  await page.goto("/login");
  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill("wrong password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await expect(page).toHaveURL(/\/login/);
});

test("a second person sees none of it", async ({ page }) => {
  await signUp(page, stranger);
  await expect(page.getByText("No images here yet")).toBeVisible();
  await expect(page.getByRole("list", { name: "Images" }).getByRole("listitem")).toHaveCount(0);
  await expect(page.getByRole("navigation", { name: "Albums" }).getByRole("link", { name: new RegExp(ALBUM) })).toHaveCount(0);
  expect(imageUrl).not.toBe("");
  await page.goto(imageUrl);
  await expect(page.getByRole("alert")).toBeVisible();
  await expect(page.getByRole("img", { name: "portrait.png" })).toHaveCount(0);
  // And the API agrees: the owner's image id answers 404 to the stranger.
  const status = await page.evaluate(async (id) => {
    const tokens = JSON.parse(localStorage.getItem("renovo.tokens") ?? "{}");
    const r = await fetch(`/api/images/${id}`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    return r.status;
  }, imageUrl.split("/images/")[1].split("?")[0]);
  expect(status).toBe(404);
});
