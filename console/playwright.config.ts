import { defineConfig } from "@playwright/test";

// Driven by tests/e2e/test_console.py, which starts a real `clipdex serve` and passes its URL.
// The system Chromium (Debian's `chromium` package) is used; Playwright's own download is never needed.
export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/playwright",
  timeout: 240_000,
  expect: { timeout: 15_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: process.env.CLIPDEX_E2E_URL ?? "http://127.0.0.1:8000",
    headless: true,
    viewport: { width: 1366, height: 860 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--autoplay-policy=no-user-gesture-required"],
    },
    trace: "off",
    screenshot: "only-on-failure",
  },
});
