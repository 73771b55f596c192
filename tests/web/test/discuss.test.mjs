// Discussions in a real browser: a commenter connects the test wallet, writes Markdown, signs the comment with
// eth_signTypedData_v4 and sees it in the thread; another account replies; the asset's owner (and only the
// owner) sees Hide, hides the first comment and sees it folded under "Hidden by the owner". The node and the
// CLI agree with what the page shows.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { axe, launch, newContext, shot } from '../lib/browser.mjs';
import { cli, startDev, until } from '../lib/node.mjs';
import { installWallet, TEST_WALLET } from '../lib/wallet.mjs';

const OWNER = 1;
const COMMENTER = 2;
const REPLIER = 3;

let dev;
let browser;
let asset;

async function userPage(i, options = {}) {
  const context = await newContext(browser, options);
  await installWallet(context, { rpcUrl: dev.rpcUrl, account: dev.accounts[i].address, chainId: 31337 });
  const page = await context.newPage();
  await page.goto(`${dev.url}/assets/${asset}`);
  await page.locator('html[data-app="ready"]').waitFor();
  await page.locator('#wallet-connect').click();
  const option = page.locator('dialog.wallet-chooser').getByRole('button', { name: TEST_WALLET.name });
  await Promise.race([
    option.waitFor({ timeout: 10_000 }).then(() => option.click()),
    page.locator('#wallet-account[data-account]').waitFor({ timeout: 10_000 }),
  ]);
  await page.locator('#wallet-account[data-account]').waitFor();
  return { context, page };
}

before(async () => {
  dev = await startDev();
  browser = await launch();
  const work = mkdtempSync(join(tmpdir(), 'scal3ml-web-discuss-'));
  const csv = join(work, 'bees.csv');
  writeFileSync(csv, 'hive,count\n1,4000\n');
  const published = await cli(dev.url, [
    'publish', csv, '--kind', 'dataset', '--name', 'Bee counts', '--license', 'CC0-1.0',
    '--description', 'Bees per hive', '--dev-account', String(OWNER),
  ]);
  asset = published.asset;
});

after(async () => {
  await browser?.close();
  await dev?.stop();
});

test('a comment signed in the browser appears in the thread; a reply nests; the owner hides one', async () => {
  // Without a wallet connected the thread reads, and posting waits for the script.
  // CSP bypassed (for axe), so that only the node's sanitising stands between the body's script and the page.
  const { context, page } = await userPage(COMMENTER, { bypassCSP: true });
  const section = page.locator('section#discussion');
  await section.getByText('No comments yet.').waitFor();
  assert.equal(await section.locator('button.js-hide').filter({ visible: true }).count(), 0);

  await section.locator('textarea[name=body]').fill('Were these **counted by hand**? <script>window.pwned=1</script>');
  await section.getByRole('button', { name: 'Post' }).click();
  const first = page.locator('section#discussion li.comment').first();
  await first.waitFor({ timeout: 20_000 }).catch(async (e) => {
    await shot(page, 'discuss-post-failed');
    throw new Error(`${e.message}\nstatus: ${await page.locator('.comment-status').textContent()}\n${context.problems.join('\n')}`);
  });
  assert.equal(await first.locator('.comment-body strong').textContent(), 'counted by hand');
  assert.equal(await page.evaluate(() => window.pwned), undefined, 'the script in the body did not run');
  assert.match(await page.locator('section#discussion .comment-status').textContent(), /Posted/);
  assert.equal(
    (await first.locator('code[title]').getAttribute('title')).toLowerCase(),
    dev.accounts[COMMENTER].address.toLowerCase(),
  );
  const cid = await first.getAttribute('data-cid');
  await shot(page, 'discuss-posted');
  assert.deepEqual(await axe(page), [], 'the discussion has no serious accessibility violations');
  await context.close();

  // Another account replies to it.
  const replier = await userPage(REPLIER);
  const thread = replier.page.locator('section#discussion');
  await thread.locator(`li[data-cid="${cid}"] button.js-reply`).click();
  await thread.locator('.js-replying:not([hidden])').waitFor();
  await thread.locator('textarea[name=body]').fill('Twice, by two people.');
  await thread.getByRole('button', { name: 'Post' }).click();
  await thread.locator('li.comment.depth-1').waitFor({ timeout: 20_000 });
  assert.match(await replier.page.locator('section#discussion li.comment.depth-1').textContent(), /Twice, by two people/);
  await replier.context.close();

  const listed = await cli(dev.url, ['comments', String(asset)]);
  assert.equal(listed.count, 2);
  assert.equal(listed.comments[0].cid, cid);
  assert.equal(listed.comments[0].replies[0].body, 'Twice, by two people.');

  // The owner sees Hide and hides the first comment; it folds, still there.
  const owner = await userPage(OWNER);
  const mine = owner.page.locator('section#discussion');
  const hide = mine.locator(`li[data-cid="${cid}"] button.js-hide`);
  await hide.waitFor({ state: 'visible' });
  await hide.click();
  const folded = owner.page.locator(`section#discussion li[data-cid="${cid}"] details`);
  await folded.waitFor({ timeout: 20_000 });
  assert.equal(await folded.locator('summary').textContent(), 'Hidden by the owner');
  assert.equal(await folded.locator('.comment-body strong').isVisible(), false, 'folded until opened');
  await folded.locator('summary').click();
  assert.equal(await folded.locator('.comment-body strong').textContent(), 'counted by hand');
  await shot(owner.page, 'discuss-hidden');
  await owner.context.close();
  await until('the node to list it hidden', async () => {
    const t = await cli(dev.url, ['comments', String(asset)]);
    return t.comments[0].hidden === true && t.comments[0].hide.owner.toLowerCase() === dev.accounts[OWNER].address.toLowerCase();
  });
});
