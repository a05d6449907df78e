import { expect, test, type Page } from "@playwright/test";
import { env, shot, signIn } from "./helpers";

// A video whose title, transcript and on-screen text carry HTML/JS (tests/e2e/test_injection_console.py
// writes them): every page that shows them must show text, make no element of it and run none of it.
const PAYLOADS = ["<img src=x onerror=", "<script>", "<svg onload="];

async function noInjectedMarkup(page: Page, where: string, dialogs: string[]): Promise<void> {
  await page.waitForTimeout(500); // an onerror/onload would have fired by now
  expect(await page.locator('img[src="x"], svg[onload], iframe, [onerror], [onload]').count(), `${where}: elements`).toBe(0);
  const inline = await page.locator("script").evaluateAll((els) => els.filter((e) => /__pwned/.test(e.textContent ?? "")).length);
  expect(inline, `${where}: script elements`).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), `${where}: payload ran`).toBeUndefined();
  expect(dialogs, `${where}: dialogs`).toEqual([]);
  expect(await page.locator("a[href^='javascript:']").count(), `${where}: javascript: links`).toBe(0);
}

test("injected HTML and JS stay text in the console", async ({ page }) => {
  const dialogs: string[] = [];
  page.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await signIn(page, env("E2E_USER"), env("E2E_PASS"));
  await noInjectedMarkup(page, "library", dialogs);
  await expect(page.getByText(PAYLOADS[0], { exact: false }).first()).toBeVisible(); // the title, as text

  await page.goto(`/videos/${env("E2E_VIDEO_ID")}`);
  const transcript = page.getByRole("region", { name: "Transcript" });
  await expect(transcript).toContainText(PAYLOADS[0]);
  await expect(transcript).toContainText(PAYLOADS[1]);
  await noInjectedMarkup(page, "video", dialogs);
  await shot(page, "injection-video");

  await page.getByRole("link", { name: "Search" }).click();
  await page.getByLabel("Search your library").fill("launch planned March");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByRole("list", { name: "Results" }).getByRole("listitem").first()).toBeVisible();
  await noInjectedMarkup(page, "search", dialogs);
  await shot(page, "injection-search");

  await page.getByRole("link", { name: "Ask", exact: true }).click();
  await page.getByLabel("Ask a question about your videos").fill("When is the launch planned?");
  await page.getByRole("button", { name: "Ask", exact: true }).click();
  const answer = page.getByRole("region", { name: "Answer" });
  await expect(answer.getByTestId("answer")).toContainText(/march/i);
  await expect(answer).toContainText(PAYLOADS[0]); // the cited words, shown as the words they are
  // what the obedient model made up (another tenant's secret, a moved date, its own markup) is left out
  await expect(answer.getByTestId("answer")).not.toContainText(/Bravo|moved to May|alert\('answer'\)/);
  await expect(answer).toContainText(/left out: your videos do not say/);
  await noInjectedMarkup(page, "ask", dialogs);
  await shot(page, "injection-ask");
});
