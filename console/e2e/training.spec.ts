import { expect, test, type Page } from "@playwright/test";
import { axe, env, shot, signIn } from "./helpers";

// Driven by tests/e2e/test_console_training.py: a real `clipdex serve` with one `train` slot, a tenant
// whose videos have transcripts, and a tiny T5 base model the test built.
test.skip(!process.env.E2E_TRAINING, "training e2e runs through tests/e2e/test_console_training.py");
test.describe.configure({ mode: "serial" });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await (await browser.newContext()).newPage();
});

test("dataset from transcripts, review and edit in place", async () => {
  await signIn(page, env("E2E_USER_A"), env("E2E_PASS_A"));
  await page.getByRole("link", { name: "Models" }).click();
  await expect(page.getByRole("heading", { name: "Custom models" })).toBeVisible();
  await expect(page.getByLabel("Plan limits")).toContainText("up to 300 steps");
  await page.getByRole("button", { name: "Create from all transcribed videos" }).click();
  const row = page.getByRole("table", { name: "Datasets" }).getByRole("row").nth(1);
  await expect(row).toContainText("ready", { timeout: 60_000 });
  await row.getByRole("button", { name: "Review" }).click();
  const items = page.getByRole("table", { name: "Dataset items" });
  await expect(items.getByRole("row")).toHaveCount(21);
  await expect(items).toContainText("When is the launch planned?");
  const first = items.getByRole("textbox").first();
  await first.fill("early March");
  await first.press("Enter");
  await expect(row).toContainText("v2");
  await axe(page, "models");
  await shot(page, "training-dataset");
});

test("train, watch, compare with the base, activate, roll back", async () => {
  await page.getByLabel("Base").selectOption("tiny-t5");
  await page.getByLabel("Method").selectOption("full");
  await page.getByLabel("Steps").fill("12");
  await page.getByRole("button", { name: "Start training" }).click();
  const card = page.getByRole("list", { name: "Models" }).getByRole("listitem").first();
  await expect(card.getByRole("img", { name: /Loss curve/ })).toBeVisible({ timeout: 120_000 });
  await shot(page, "training-progress");
  await expect(card.locator(".status")).toHaveText("succeeded", { timeout: 180_000 });
  await expect(card.getByRole("table", { name: "Evaluation" })).toContainText("fine-tuned");
  await card.getByRole("button", { name: "Activate for Ask" }).click();
  await expect(card).toContainText("active");
  await shot(page, "training-models");
  await page.getByRole("button", { name: "Roll back to the previous model" }).click();
  await expect(card.getByRole("button", { name: "Activate for Ask" })).toBeVisible();
});

test("glossary", async () => {
  await page.getByLabel("Glossary terms").fill("Zorblax\nQuintarra Labs");
  await page.getByRole("button", { name: "Save glossary" }).click();
  await expect(page.getByText("Saved", { exact: true })).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("Glossary terms")).toHaveValue("Zorblax\nQuintarra Labs");
  await shot(page, "training-glossary");
});
