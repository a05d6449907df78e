import { expect, test, type Page } from "@playwright/test";
import { axe, env, shot, signIn } from "./helpers";

// Driven by tests/e2e/test_console_billing.py: a real `clipdex serve` with billing on, pointed at the
// Stripe-compatible test server, which hosts the Checkout and portal pages and sends signed webhooks.
test.skip(!process.env.E2E_BILLING, "billing e2e runs through tests/e2e/test_console_billing.py");
test.describe.configure({ mode: "serial" });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await (await browser.newContext()).newPage();
});

async function stripeControl(action: "fail_payment" | "pay"): Promise<void> {
  const r = await page.request.post(`${env("E2E_STRIPE_URL")}/_test/${action}`);
  expect(r.ok()).toBeTruthy();
}

test("owner sees plans and subscribes through Checkout", async () => {
  await signIn(page, env("E2E_USER_A"), env("E2E_PASS_A"));
  await page.getByRole("link", { name: "Billing" }).click();
  await expect(page.getByRole("heading", { name: "Billing" })).toBeVisible();
  await expect(page.getByTestId("billing-state")).toHaveText("none");
  await expect(page.getByRole("button", { name: "Subscribe to Pro" })).toBeVisible();
  await axe(page, "billing");
  await shot(page, "billing-plans");

  await page.getByRole("button", { name: "Subscribe to Pro" }).click();
  await expect(page.getByRole("heading", { name: "Test checkout" })).toBeVisible();
  await shot(page, "billing-checkout");
  await page.getByRole("button", { name: "Pay and subscribe" }).click();
  await expect(page).toHaveURL(/\/billing\?checkout=success/);
  await expect(page.getByTestId("billing-state")).toHaveText("active");
  await expect(page.getByTestId("plan")).toHaveText("pro");
  await expect(page.getByRole("cell", { name: "CDX-0001" })).toBeVisible();
  await expect(page.getByRole("cell", { name: "paid" })).toBeVisible();
  await shot(page, "billing-active");
});

test("portal opens at Stripe and returns", async () => {
  await page.getByRole("button", { name: "Manage subscription and payment" }).click();
  await expect(page.getByRole("heading", { name: "Customer portal" })).toBeVisible();
  await page.getByRole("link", { name: "Return" }).click();
  await expect(page.getByRole("heading", { name: "Billing" })).toBeVisible();
});

test("a failed payment shows the grace banner everywhere, paying clears it", async () => {
  await stripeControl("fail_payment");
  await page.goto("/billing");
  await expect(page.getByTestId("billing-state")).toHaveText("grace");
  await expect(page.getByTestId("billing-banner")).toContainText("Payment failed");
  await axe(page, "billing grace");
  await shot(page, "billing-grace");
  await page.getByRole("link", { name: "Library" }).click();
  await expect(page.getByTestId("billing-global-banner")).toBeVisible();
  await shot(page, "billing-grace-library");

  await stripeControl("pay");
  await page.goto("/billing");
  await expect(page.getByTestId("billing-state")).toHaveText("active");
  await expect(page.getByTestId("billing-banner")).toHaveCount(0);
  await expect(page.getByRole("cell", { name: "CDX-0002" })).toBeVisible();
  await page.getByRole("link", { name: "Library" }).click();
  await expect(page.getByRole("heading", { name: "Library" })).toBeVisible();
  await expect(page.getByTestId("billing-global-banner")).toHaveCount(0);
});

test("a viewer sees the plan but cannot change billing", async ({ browser }) => {
  const viewer = await (await browser.newContext()).newPage();
  await signIn(viewer, env("E2E_USER_V"), env("E2E_PASS_V"));
  await viewer.goto("/billing");
  await expect(viewer.getByTestId("plan")).toHaveText("pro");
  await expect(viewer.getByText("Only the tenant's owners can change billing.")).toBeVisible();
  await expect(viewer.getByRole("button", { name: /Manage subscription|Subscribe/ })).toHaveCount(0);
  await shot(viewer, "billing-viewer");
  await viewer.close();
});
