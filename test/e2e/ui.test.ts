/**
 * End to end, the dashboard in a real browser: a real `fleet-q start` pod on SQLite with a few
 * hundred steps in every state, opened in headless Chromium. Each page renders without console
 * errors; the overview's numbers equal GET /admin/queue; the pods page shows the pod as leader; the
 * step list filters; a step's page shows its audit trail and the path it took highlighted on the
 * lifecycle diagram; a dead-lettered step replayed from the DLQ page (after confirming) completes.
 * Screenshots of every page (and the overview at phone size) land in .tmp/ui-screenshots/.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserRequired, chromiumPath, launchChromium } from '../support/browser.js';
import { ROOT } from './build.js';
import { sqliteQueue } from './database.js';
import { startPod, useE2eSuite, withQueue } from './harness.js';
import { getJson, submitBatch } from './http.js';
import { waitFor } from '../support/wait.js';

const SHOTS = join(ROOT, '.tmp', 'ui-screenshots');
const available = chromiumPath() !== null;
if (!available && !browserRequired())
  console.warn("ui: dashboard browser tests not run: no Chromium (install Debian's `chromium`, or set FLEET_Q_TEST_CHROMIUM)");

const suite = useE2eSuite();

describe.skipIf(!available && !browserRequired())('dashboard in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
    await mkdir(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** A page that fails the test on any console error or uncaught exception. */
  async function openPage(viewport = { width: 1280, height: 900 }): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport });
    const errors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    page.on('pageerror', (err) => errors.push(err.message));
    return { page, errors };
  }

  async function show(page: Page, baseUrl: string, hash: string, name: string): Promise<void> {
    const loaded = "document.getElementById('view')?.dataset.loaded ?? ''";
    const before = await page.evaluate(loaded);
    await page.goto(`${baseUrl}/ui${hash}`);
    await page.waitForFunction(`(${loaded}) !== '' && (${loaded}) !== ${JSON.stringify(before)}`);
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  it('shows every page of a busy queue, with numbers that match the API, and replays a dead-lettered step', async () => {
    await withQueue(sqliteQueue, async (queue) => {
      const pod = await startPod({ cli: suite.cli, queue, name: 'e2e-ui' });
      const base = pod.baseUrl;
      const echo = await submitBatch(
        base,
        Array.from({ length: 200 }, (_, i) => ({ type: 'echo', args: { i } })),
      );
      await submitBatch(
        base,
        Array.from({ length: 40 }, () => ({ type: 'fail', args: {}, max_retries: 0 })),
      );
      const [replayable] = await submitBatch(base, [{ type: 'fail', args: { times: 1 }, max_retries: 0 }]);
      const queueBody = async () => (await getJson(base, '/admin/queue')).body as Record<string, number>;
      await waitFor(
        'completed and dead-lettered steps to settle',
        async () => {
          const q = await queueBody();
          return q.completed_steps === 200 && q.failed_steps === 41;
        },
        { timeoutMs: 60_000 },
      );
      // Running and waiting steps: 8 slots stay busy for 15 s, the rest wait behind them at a lower
      // priority than the step replayed below, which takes the first slot that frees.
      await submitBatch(
        base,
        Array.from({ length: 30 }, () => ({ type: 'sleep', args: { ms: 15_000 }, priority: -1 })),
      );
      await waitFor('the slots to fill', async () => (await queueBody()).claimed_steps === 8, { timeoutMs: 30_000 });

      const { page, errors } = await openPage();
      await show(page, base, '#/overview', 'overview');
      const expected = await queueBody();
      const metric = async (name: string) => Number((await page.locator(`[data-metric="${name}"] .value`).innerText()).replace(/,/g, ''));
      expect({
        pending: await metric('pending'),
        claimed: await metric('claimed'),
        completed: await metric('completed'),
        failed: await metric('failed'),
      }).toEqual({
        pending: expected.pending_steps,
        claimed: expected.claimed_steps,
        completed: expected.completed_steps,
        failed: expected.failed_steps,
      });
      expect(await page.locator('[data-total="completed"]').innerText()).toContain('200');
      expect(await page.locator('svg.chart rect').count()).toBeGreaterThan(0);

      await show(page, base, '#/pods', 'pods');
      const podRow = page.locator(`tr[data-pod="${pod.podId}"]`);
      expect(await podRow.innerText()).toMatch(/up[\s\S]*leader/);

      await show(page, base, '#/steps?status=failed', 'steps-failed');
      expect(await page.locator('tr[data-step]').count()).toBe(41);
      await show(page, base, `#/steps?step_id=${echo[0]}`, 'steps-search');
      expect(await page.locator('tr[data-step]').allInnerTexts()).toEqual([expect.stringContaining('completed')]);

      await show(page, base, `#/step/${echo[0]}`, 'step-completed');
      expect(await page.locator('tr[data-event-kind]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event-kind')))).toEqual([
        'submitted',
        'claimed',
        'completed',
      ]);
      const taken = await page
        .locator('g.edge.taken')
        .evaluateAll((edges) => edges.map((e) => `${e.getAttribute('data-from')}>${e.getAttribute('data-to')}:${e.getAttribute('data-event')}`));
      expect(taken.sort()).toEqual(['claimed>completed:completed', 'pending>claimed:claimed', 'unsubmitted>pending:submitted']);
      expect(await page.locator('g.node.current').getAttribute('data-state')).toBe('completed');

      await show(page, base, '#/dlq', 'dlq');
      const row = page.locator(`tr[data-step="${replayable}"]`);
      await row.getByRole('button', { name: 'Replay' }).click();
      await expect.poll(() => page.locator('#confirm-dialog').isVisible()).toBe(true);
      await page.screenshot({ path: join(SHOTS, 'dlq-confirm.png') });
      await page.locator('#confirm-ok').click();
      await waitFor(`${replayable} to complete after the replay`, async () => (await getJson(base, `/status/${replayable}`)).body.status === 'completed', {
        timeoutMs: 60_000,
      });
      await show(page, base, `#/step/${replayable}`, 'step-replayed');
      const kinds = await page.locator('tr[data-event-kind]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event-kind')));
      expect(kinds).toEqual(['submitted', 'claimed', 'dead_lettered', 'replayed', 'claimed', 'completed']);
      expect(await page.locator('g.edge.taken[data-event="replayed"]').count()).toBe(1);

      // Keyboard: the first Tab reaches the skip link, and following it moves focus to the content.
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');

      const phone = await openPage({ width: 390, height: 844 });
      await show(phone.page, base, '#/overview', 'overview-phone');
      const overflow = await phone.page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      expect(Number(overflow)).toBeLessThanOrEqual(0);
      expect([...errors, ...phone.errors]).toEqual([]);
    });
  }, 180_000);
});
