import { defineConfig } from "@playwright/test";

// Drives Debian's Chromium (no browser download) against a running platform through its gateway.
export default defineConfig({
  testDir: "./e2e",
  testMatch: "*.spec.ts",
  // RENOVO_E2E_GREP="1500 photos" runs only the matching journeys (e.g. for the 1,500-photo figures).
  grep: process.env.RENOVO_E2E_GREP ? new RegExp(process.env.RENOVO_E2E_GREP) : undefined,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: process.env.RENOVO_E2E_URL ?? "http://127.0.0.1:8080",
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    trace: "off",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
