import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

export const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run through tests/e2e/test_console.py)`);
  return v;
};

export const SHOTS = "test-results/screenshots";

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

/** Fails on serious or critical accessibility violations of the current page. */
export async function axe(page: Page, where: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const report = bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  expect(report, `axe on ${where}`).toEqual([]);
}

export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/signin");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Library" })).toBeVisible();
}

/** The player's current time once it has loaded metadata. */
export async function playerTime(page: Page): Promise<number> {
  const player = page.getByTestId("player");
  await expect(player).toBeVisible();
  await page.waitForFunction(() => {
    const v = document.querySelector<HTMLVideoElement>("[data-testid=player]");
    return v !== null && v.readyState >= 1;
  });
  return player.evaluate((v: HTMLVideoElement) => v.currentTime);
}
