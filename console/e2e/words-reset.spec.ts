import { expect, test, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { axe, env, shot, signIn } from "./helpers";

// Driven by tests/e2e/test_console_words.py: a real `clipdex serve` that transcribes with Whisper, a
// spoken video with figures and a hyphenated word, and an operator-made password reset link.
test.skip(!process.env.E2E_WORDS, "runs through tests/e2e/test_console_words.py");
test.describe.configure({ mode: "serial" });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
});

test("the transcript panel writes Whisper's sub-word tokens as one word", async () => {
  const login = await page.request.post("/api/v1/auth/login", { data: { email: env("E2E_USER"), password: env("E2E_PASS") } });
  const token = (await login.json()).access_token as string;
  const up = await page.request.post("/api/v1/videos", {
    headers: { Authorization: `Bearer ${token}` },
    multipart: { file: { name: "figures.mp4", mimeType: "video/mp4", buffer: readFileSync(env("E2E_VIDEO")) }, title: "Figures" },
  });
  expect(up.status()).toBe(201);
  const video = await up.json();
  expect(up.headers()["link"]).toContain(video.job.events_url); // the job is named in the upload's answer
  const events = await page.request.get(video.job.events_url, { headers: { Authorization: `Bearer ${token}` }, timeout: 300_000 });
  expect(await events.text()).toContain("event: done");

  await signIn(page, env("E2E_USER"), env("E2E_PASS"));
  await page.goto(`/videos/${video.id}`);
  const panel = page.getByRole("region", { name: "Transcript" });
  await expect(panel).toContainText("400,000");
  await expect(panel).toContainText("well-known");
  const text = (await panel.textContent()) ?? "";
  expect(text).not.toMatch(/400 ,000|well -known/);
  await shot(page, "transcript-words");
});

test("Chinese, Japanese and Korean text renders with the console's own Noto fonts", async () => {
  // Chromium here has no CJK system font: without the bundled faces these are missing-glyph boxes.
  // Each sample is drawn twice, in the page's own font stack and in the Noto face alone; the same
  // width means the stack reached the Noto face (boxes are narrower than CJK glyphs).
  const samples: [string, string][] = [["Noto Sans SC Variable", "中文字幕"], ["Noto Sans JP Variable", "のテキスト"],
    ["Noto Sans KR Variable", "한국어 자막"]];
  const widths = await page.evaluate(async (pairs) => {
    const box = document.createElement("p");
    box.setAttribute("data-testid", "cjk-sample");
    document.body.appendChild(box);
    const out: { family: string; loaded: number; stack: number; alone: number }[] = [];
    for (const [family, text] of pairs) {
      const faces = await document.fonts.load(`16px "${family}"`, text);
      const inStack = document.createElement("span");
      const alone = document.createElement("span");
      inStack.textContent = alone.textContent = text;
      alone.style.fontFamily = `"${family}"`;
      box.append(inStack, " ", alone, " ");
      out.push({ family, loaded: faces.filter((f) => f.status === "loaded").length,
        stack: inStack.getBoundingClientRect().width, alone: alone.getBoundingClientRect().width });
    }
    return out;
  }, samples);
  for (const w of widths) {
    expect(w.loaded, `${w.family} served and loaded`).toBeGreaterThan(0);
    expect(Math.abs(w.stack - w.alone), `${w.family} used by the page's font stack`).toBeLessThan(1);
  }
  await expect(page.getByTestId("cjk-sample")).toBeVisible();
  await shot(page, "cjk-text");
});

test("a lost password is reset with the operator's link", async ({ browser }) => {
  page = await (await browser.newContext()).newPage(); // signed out: a browser without the session cookie
  await page.goto("/signin");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("E-mail").fill(env("E2E_USER"));
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(page.getByRole("status")).toContainText("clipdex admin reset-link");
  await axe(page, "forgot-password");
  await shot(page, "forgot-password");

  await page.goto(env("E2E_RESET_LINK"));
  await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
  await page.getByLabel("New password", { exact: true }).fill("a new e2e password");
  await page.getByLabel("Repeat it", { exact: true }).fill("a new e2e password");
  await axe(page, "reset-password");
  await shot(page, "reset-password");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page.getByRole("status")).toContainText("Your password is set");
  await shot(page, "reset-done");
  // the same link does not work twice
  await page.goto("/signin");
  await page.goto(env("E2E_RESET_LINK"));
  await page.getByLabel("New password", { exact: true }).fill("another password 123");
  await page.getByLabel("Repeat it", { exact: true }).fill("another password 123");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page.getByRole("alert")).toContainText("already used");
  await signIn(page, env("E2E_USER"), "a new e2e password");
});
