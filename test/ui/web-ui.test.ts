/**
 * Drives the real Temporal Web UI in headless Chromium: a finished order's workflow page must show its summary
 * and details, its search attributes and the saga's step activities, decrypted through the gateway's codec
 * endpoint for an admin, and nothing of the card without it. Saves screenshots to test-results/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { orderWorkflowId } from '../../workflows/definitions';
import { aUser, anItem, request, waitForOrder } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
import { testWithTool } from '../deploy/tools';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SCREENSHOTS = path.resolve(__dirname, '../../test-results');
/** Skipped with a message where there is no Chromium; CI (REQUIRE_ALL_TOOLS=1) fails instead. */
const withChromium = testWithTool(
  'Chromium',
  CHROMIUM,
  "install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH",
);

let system: TestSystem;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return; // the tests say why they are skipped (or fail, in CI)
  system = await startTestSystem();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

/**
 * A browser context where an admin has opened a codec session (the gateway's HttpOnly cookie) and the Web UI's
 * codec settings point at the gateway with "Include cross-origin credentials" on, as the README tells operators.
 */
async function withCodecSession(context: BrowserContext): Promise<BrowserContext> {
  const admin = await aUser(system, 'ADMIN');
  // As the README has it: from the gateway's own API page (as Swagger UI's "Try it out" does), so the browser
  // itself stores the cookie the gateway sets.
  const docs = await context.newPage();
  await docs.goto(`${system.baseUrl}/docs`);
  const status = await docs.evaluate(
    async ({ url, token }) =>
      (await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status,
    { url: `${system.baseUrl}/codec/session`, token: admin.token },
  );
  expect(status).toBe(204);
  await docs.close();
  // The keys the UI keeps its codec settings under, each a JSON value.
  const settings = {
    endpoint: `${system.baseUrl}/codec`,
    includeCredentials: true,
    overrideRemoteCodecConfiguration: true,
  };
  await context.addInitScript({
    content: Object.entries(settings)
      .map(([key, value]) => `localStorage.setItem(${JSON.stringify(key)}, ${JSON.stringify(JSON.stringify(value))});`)
      .join('\n'),
  });
  return context;
}

/** The text of the page including its frames (the UI renders summaries and details in sandboxed iframes). */
async function pageText(page: Page): Promise<string> {
  const texts = await Promise.all(page.frames().map((frame) => frame.innerText('body').catch(() => '')));
  return texts.join('\n');
}

/**
 * The text the UI renders in one User Metadata panel (`summary`, `details`, `current-details`): each is an
 * iframe of its own, filled only from what the workflow set, so nothing of the UI's own chrome can match.
 */
async function metadataPanel(page: Page, panel: 'summary' | 'details' | 'current-details'): Promise<string> {
  const body = page.frameLocator(`#user-metadata-${panel}`).locator('body');
  const deadline = Date.now() + 15_000;
  let text = '';
  while (Date.now() < deadline) {
    text = (await body.innerText({ timeout: 1_000 }).catch(() => '')).trim();
    if (text) break;
    await page.waitForTimeout(200);
  }
  return text;
}

async function openTab(page: Page, name: string, path: string, expectedText: string): Promise<string> {
  await page.getByRole('tab', { name }).click();
  await page.waitForURL((url) => url.pathname.endsWith(path));
  const deadline = Date.now() + 15_000;
  let text = await pageText(page);
  while (!text.includes(expectedText) && Date.now() < deadline) {
    await page.waitForTimeout(200);
    text = await pageText(page);
  }
  return text;
}

withChromium(
  'when a completed order is opened in the Temporal Web UI, then its summary, search attributes and step activities are shown',
  async () => {
    const user = await aUser(system);
    const item = await anItem(system, { price: 12_000 });
    const placed = await request(system, 'POST', '/orders', {
      token: user.token,
      body: { lines: [{ itemId: item.id, quantity: 2, unitPrice: 12_000 }] },
    });
    expect(placed.status).toBe(202);
    const order = await waitForOrder(system, user.token, placed.body.orderId);
    expect(order.status).toBe('COMPLETED');

    const context = await withCodecSession(await browser.newContext({ viewport: { width: 1400, height: 1100 } }));
    const page = await context.newPage();
    await page.goto(placed.body.links.temporalUi, { waitUntil: 'networkidle' });
    await page.getByText(orderWorkflowId(order.orderId)).first().waitFor({ timeout: 15_000 });
    await page.getByText('chargePayment').first().waitFor({ timeout: 15_000 });
    // The input as the workflow got it, decrypted by the gateway's codec endpoint for the admin.
    await page.getByText('paymentToken').first().waitFor({ timeout: 15_000 });
    expect(await pageText(page)).toContain('tok_visa');
    const timeline = await page.innerText('main');
    for (const activity of [
      'reserveStock',
      'Reserve stock',
      'redeemCoupons',
      'Redeem coupons',
      'chargePayment',
      'Charge the card',
    ]) {
      expect(timeline).toContain(activity);
    }
    expect(timeline).toContain('COMPLETED');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'web-ui-timeline.png'), fullPage: true });

    const summary = `Order ${order.orderId}: 1 line(s), total 24000`;
    const metadata = await openTab(page, 'User Metadata', '/user-metadata', summary);
    expect(metadata).toContain(summary);
    expect(await metadataPanel(page, 'summary')).toBe(summary);
    expect(await metadataPanel(page, 'details')).toContain(`customer: ${user.id}`);
    expect(await metadataPanel(page, 'details')).toContain('card: ****visa');
    // The workflow's own last word (setCurrentDetails when it completes), not the UI's status badge.
    expect(await metadataPanel(page, 'current-details')).toBe('Completed');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'web-ui-user-metadata.png') });

    const attributes = await openTab(page, 'Search Attributes', '/search-attributes', '"OrderStatus"');
    expect(attributes).toMatch(/"OrderStatus":\s*"COMPLETED"/);
    expect(attributes).toMatch(new RegExp(`"CustomerId":\\s*"${user.id}"`));
    expect(attributes).toMatch(/"OrderTotal":\s*24000/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'web-ui-search-attributes.png') });
    await context.close();
  },
);

withChromium(
  'when the Web UI has no codec session, then it shows the order only encrypted: no card token, no summary',
  async () => {
    const user = await aUser(system);
    const item = await anItem(system);
    const placed = await request(system, 'POST', '/orders', {
      token: user.token,
      body: { lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }], payment: { token: 'tok_visa' } },
    });
    const order = await waitForOrder(system, user.token, placed.body.orderId);
    expect(order.status).toBe('COMPLETED');

    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await page.goto(placed.body.links.temporalUi, { waitUntil: 'networkidle' });
    await page.getByText('chargePayment').first().waitFor({ timeout: 15_000 });
    // The input, shown as what Temporal holds: one quoted run of base64 ciphertext.
    await page
      .getByText(/^"[A-Za-z0-9+/]{100,}={0,2}"$/)
      .first()
      .waitFor({ timeout: 15_000 });
    const text = await pageText(page);
    expect(text).not.toContain('tok_visa');
    expect(text).not.toContain('paymentToken');
    expect(text).not.toContain(`Order ${order.orderId}:`);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'web-ui-without-codec.png'), fullPage: true });
    await page.close();
  },
);

withChromium(
  'when a visibility query filters on OrderStatus, then the cancelled order is found through the client',
  async () => {
    const user = await aUser(system);
    const item = await anItem(system, { stockQuantity: 0 });
    const placed = await request(system, 'POST', '/orders', {
      token: user.token,
      body: { lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }] },
    });
    const order = await waitForOrder(system, user.token, placed.body.orderId);
    expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'OUT_OF_STOCK' });

    const query = `OrderStatus="CANCELLED" AND FailureReason="OUT_OF_STOCK" AND CustomerId="${user.id}"`;
    let found: string[] = [];
    for (let attempt = 0; attempt < 50 && found.length === 0; attempt += 1) {
      found = [];
      for await (const execution of system.client.workflow.list({ query })) found.push(execution.workflowId);
      if (found.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(found).toEqual([orderWorkflowId(order.orderId)]);

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const uiBase = placed.body.links.temporalUi.split('/namespaces/')[0];
    await page.goto(`${uiBase}/namespaces/default/workflows?query=${encodeURIComponent(query)}`, {
      waitUntil: 'networkidle',
    });
    await page.getByText(orderWorkflowId(order.orderId)).first().waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'web-ui-visibility-query.png') });
    await page.close();
  },
);
