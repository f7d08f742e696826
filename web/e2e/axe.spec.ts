// axe-core on every page, desktop and phone: no serious or critical finding. The findings (all impacts) are
// saved to screenshots/axe.json for the record.
import { writeFileSync } from "node:fs";
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { bulkUpload, createAlbum, createJob, createUser, openAs, waitJob } from "./api";
import { SHOTS } from "./helpers";

test.describe.configure({ mode: "serial" });

interface Finding {
  page: string;
  id: string;
  impact: string | null;
  nodes: number;
  help: string;
  targets: string[];
}

const findings: Finding[] = [];

async function scan(page: Page, name: string) {
  await page.waitForTimeout(300);
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice", "experimental"]).analyze();
  for (const v of result.violations) {
    findings.push({
      page: name,
      id: v.id,
      impact: v.impact ?? null,
      nodes: v.nodes.length,
      help: v.help,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    });
  }
}

test("every page passes axe-core without serious or critical findings", async ({ page }) => {
  test.setTimeout(180_000);
  const user = await createUser("axe", "Ada Axe");
  const album = await createAlbum(user, "Grandma's photos");
  const [first] = await bulkUpload(user, album.id, 3, [96, 64]);
  const job = await createJob(user, first.id, "none");
  await waitJob(user, job.id, (j) => j.status === "completed");

  const pages: [string, () => Promise<void>][] = [
    ["login", async () => {
      await page.goto("/login");
      await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
    }],
    ["signup", async () => {
      await page.goto("/signup");
      await expect(page.getByRole("heading", { name: "Create your account" })).toBeVisible();
    }],
    ["gallery", async () => {
      await openAs(page, user, "/");
      await expect(page.getByRole("heading", { name: "All images" })).toBeVisible();
      await expect(page.locator("main img").first()).toBeVisible();
    }],
    ["album", async () => {
      await page.goto(`/albums/${album.id}`);
      await expect(page.getByRole("heading", { name: "Grandma's photos" })).toBeVisible();
      await expect(page.locator("main img").first()).toBeVisible();
    }],
    ["image-compare", async () => {
      await page.goto(`/images/${first.id}`);
      await expect(page.getByRole("group", { name: "Comparison view" })).toBeVisible();
      await expect(page.getByRole("img", { name: /None/ }).first()).toBeVisible();
    }],
    ["image-side-by-side", async () => {
      await page.getByRole("button", { name: "Side by side" }).click();
      await expect(page.getByRole("img", { name: /None/ }).first()).toBeVisible();
    }],
    ["settings", async () => {
      await page.goto("/settings");
      await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
    }],
    ["not-found", async () => {
      await page.goto("/nowhere");
      await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
    }],
    ["phone-gallery", async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`/albums/${album.id}`);
      await expect(page.getByRole("heading", { name: "Grandma's photos" })).toBeVisible();
    }],
    ["phone-menu", async () => {
      await page.getByRole("button", { name: /menu/i }).first().click();
      await page.waitForTimeout(300);
    }],
    ["phone-image", async () => {
      await page.goto(`/images/${first.id}`);
      await expect(page.getByRole("group", { name: "Comparison view" })).toBeVisible();
    }],
  ];
  for (const [name, open] of pages) {
    await open();
    await scan(page, name);
  }
  writeFileSync(`${SHOTS}axe.json`, JSON.stringify(findings, null, 2) + "\n");
  const summary = findings.map((f) => `${f.page}: ${f.id} (${f.impact}, ${f.nodes})`);
  console.log(`axe findings ${JSON.stringify(summary)}`);
  const bad = findings.filter((f) => f.impact === "serious" || f.impact === "critical");
  expect(bad, JSON.stringify(bad, null, 2)).toEqual([]);
});
