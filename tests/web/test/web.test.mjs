// The marketplace in a real browser: Debian's headless Chromium against `scal3ml dev`, with a test wallet
// injected where a wallet extension would be (lib/wallet.mjs). The tests share one node and run in order: the
// story publishes and buys what the later reading, accessibility and phone-width checks look at.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { axe, launch, newContext, overflow, shot } from '../lib/browser.mjs';
import { cli, rpc, startDev, until } from '../lib/node.mjs';
import { installWallet, TEST_WALLET } from '../lib/wallet.mjs';

const PUBLISHER = 1;
const BUYER = 2;
const COLLABORATOR = 3;
const SEEDER = 4;
const CHAIN_ID = 31337;

let dev;
let browser;
let work;
const story = {}; // what the story made: {model, files, ...}

function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

async function selector(name) {
  const hash = await rpc(dev.rpcUrl, 'web3_sha3', ['0x' + Buffer.from(name).toString('hex')]);
  return hash.slice(0, 10);
}
const word = (v) => BigInt(v).toString(16).padStart(64, '0');

/** Marketplace.claimable(assetId, account, token) read from the chain. */
async function claimable(asset, account, token = '0x0000000000000000000000000000000000000000') {
  const data = (await selector('claimable(uint256,address,address)')) + word(asset) + word(account) + word(token);
  return BigInt(await rpc(dev.rpcUrl, 'eth_call', [{ to: dev.marketplace, data }, 'latest']));
}

/** A browser context for dev account `i`, with the test wallet injected. */
async function userContext(i, options = {}) {
  const { wallet: walletOptions = {}, ...contextOptions } = options;
  const context = await newContext(browser, contextOptions);
  const wallet = await installWallet(context, {
    rpcUrl: dev.rpcUrl,
    account: dev.accounts[i].address,
    chainId: CHAIN_ID,
    ...walletOptions,
  });
  return { context, wallet };
}

/** Clicks Connect and picks the test wallet in the chooser (the dev wallet announces itself too). */
async function connect(page) {
  await page.locator('#wallet-connect').click();
  const chooser = page.locator('dialog.wallet-chooser');
  const option = chooser.getByRole('button', { name: TEST_WALLET.name });
  await Promise.race([
    option.waitFor({ timeout: 10_000 }).then(async () => {
      if (!connect.shot) await shot(page, 'wallet-chooser');
      connect.shot = true;
      await option.click();
    }),
    page.locator('#wallet-account[data-account]').waitFor({ timeout: 10_000 }),
  ]);
  await page.locator('#wallet-account[data-account]').waitFor();
  return page.locator('#wallet-account').getAttribute('data-account');
}

function problems(context) {
  return context.problems.length ? `\npage problems:\n  ${context.problems.join('\n  ')}` : '';
}

/** Waits until a `.tx-status` reports every step confirmed, or fails with what it says. */
async function confirmed(page, status) {
  const el = status ?? page.locator('.tx-status').first();
  await until(
    'the transaction to be confirmed',
    async () => {
      const state = await el.getAttribute('data-state');
      if (state === 'failed') throw Object.assign(new Error(await el.innerText()), { fatal: true });
      const steps = await el.locator('.tx-step').count();
      const done = await el.locator('.tx-step.tx-confirmed').count();
      return steps > 0 && steps === done;
    },
    60_000,
  ).catch(async (e) => {
    throw new Error(`${e.message}; the status reads: ${await el.innerText().catch(() => '?')}`);
  });
}

/** Sets a form field whatever its control (input, textarea, select, radios). */
async function setField(form, name, value) {
  const field = form.locator(`[name="${name}"]`);
  const n = await field.count();
  assert.ok(n > 0, `the publish form has no field named ${name}`);
  const first = field.first();
  const tag = await first.evaluate((el) => el.tagName.toLowerCase());
  const type = await first.evaluate((el) => el.type);
  if (tag === 'select') await first.selectOption(String(value));
  else if (type === 'radio') await form.locator(`[name="${name}"][value="${value}"]`).check();
  else if (type === 'checkbox') await (value ? first.check() : first.uncheck());
  else await first.fill(String(value));
}

before(async () => {
  dev = await startDev();
  assert.ok(dev.marketplace, `the banner names the marketplace:\n${dev.banner}`);
  assert.equal(dev.accounts.length, 10, `the banner lists ten dev accounts:\n${dev.banner}`);
  browser = await launch();
  work = mkdtempSync(join(tmpdir(), 'scal3ml-web-files-'));

  // A catalog to read: a free dataset to derive from and enough free assets for a second results page.
  const csv = join(work, 'flowers.csv');
  writeFileSync(csv, 'sepal,petal,label\n5.1,1.4,setosa\n6.3,4.9,versicolor\n');
  const dataset = await cli(dev.url, [
    'publish', csv, '--kind', 'dataset', '--name', 'Flower measurements', '--license', 'CC-BY-4.0',
    '--description', 'Petal lengths of irises, cleaned', '--tag', 'tabular', '--dev-account', String(SEEDER),
  ]);
  story.dataset = dataset.asset;
  const seeders = [5, 6, 7, 8, 9];
  await Promise.all(
    seeders.map(async (account) => {
      for (let i = 0; i < 5; i++) {
        const f = join(work, `filler-${account}-${i}.txt`);
        writeFileSync(f, `filler ${account} ${i}\n`);
        await cli(dev.url, [
          'publish', f, '--kind', i % 2 ? 'model' : 'dataset', '--name', `Filler ${account}.${i}`, '--license',
          i % 2 ? 'MIT' : 'Apache-2.0', '--description', 'A pagefiller asset for the paging test', '--tag',
          'filler', '--dev-account', String(account),
        ]);
      }
    }),
  );
  await until('the seeded assets to be searchable', async () => {
    const page = await (await fetch(`${dev.url}/api/assets?text=pagefiller&per_page=1`)).json();
    return page.total >= 25;
  });
});

after(async () => {
  await browser?.close();
  await dev?.stop();
});

describe('in the browser', { concurrency: false }, () => {
  test('a: publish a paid model through the form, buy it, download it, see the earnings, withdraw', async () => {
    // The publisher's two files.
    const dir = join(work, 'model');
    mkdirSync(dir, { recursive: true });
    const weights = Buffer.alloc(300_000);
    for (let i = 0; i < weights.length; i++) weights[i] = (i * 2654435761) >>> 13;
    const files = {
      'model.safetensors': weights,
      'config.json': Buffer.from('{"layers": 2, "hidden": 16}\n'),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    story.files = files;

    const pub = await userContext(PUBLISHER);
    const page = await pub.context.newPage();
    await page.goto(`${dev.url}/publish`);
    const account = await connect(page);
    assert.equal(account.toLowerCase(), dev.accounts[PUBLISHER].address.toLowerCase());

    const form = page.locator('form#publish-form');
    await form.waitFor();
    await setField(form, 'kind', 'model');
    await setField(form, 'name', 'Iris classifier');
    await setField(form, 'description', 'Predicts the species from a sunflowerish petal');
    await setField(form, 'license', 'MIT');
    await setField(form, 'tags', 'vision, iris');
    await setField(form, 'price', '0.05');
    const collaborator = `${dev.accounts[COLLABORATOR].address}=30`;
    await setField(form, 'collaborator', collaborator);
    const fileInput = form.locator('input[type=file][name=file]:not([webkitdirectory])').first();
    await fileInput.setInputFiles(Object.keys(files).map((n) => join(dir, n)));
    await shot(page, 'publish-filled');

    // A bad field first: the error is shown next to it.
    await setField(form, 'price', 'lots');
    await form.locator('[type=submit]').click();
    await page.locator('.field-error[data-field="price"]:not(:empty)').waitFor({ timeout: 20_000 });
    assert.equal(await form.locator('[name="price"]').getAttribute('aria-invalid'), 'true');
    await shot(page, 'publish-error');
    await setField(form, 'price', '0.05');

    await Promise.all([
      page.waitForURL(/\/assets\/\d+$/, { timeout: 90_000 }),
      form.locator('[type=submit]').click(),
    ]).catch(async (e) => {
      throw new Error(`${e.message}\nstatus: ${await page.locator('.tx-status').first().innerText().catch(() => '')}${problems(pub.context)}`);
    });
    const model = Number(new URL(page.url()).pathname.split('/').pop());
    story.model = model;
    assert.ok(pub.wallet.calls.includes('eth_signTypedData_v4'), 'a paid asset deposits its key: the wallet signed the deposit');
    await page.getByRole('heading', { name: 'Iris classifier' }).first().waitFor();
    await shot(page, 'asset-publisher');
    const detail = await (await fetch(`${dev.url}/api/assets/${model}`)).json();
    const shareholders = JSON.stringify(detail.shareholders ?? detail);
    assert.match(shareholders.toLowerCase(), new RegExp(dev.accounts[COLLABORATOR].address.slice(2).toLowerCase()), 'the collaborator holds shares');

    // The buyer finds it through search, buys it and downloads each file.
    const buy = await userContext(BUYER);
    const bpage = await buy.context.newPage();
    await bpage.goto(`${dev.url}/`);
    await bpage.locator('input[name=text]').first().fill('sunflowerish');
    await Promise.all([bpage.waitForURL(/\/search\?/), bpage.locator('input[name=text]').first().press('Enter')]);
    await shot(bpage, 'search-results');
    await bpage.locator('.results .result-title a', { hasText: 'Iris classifier' }).click();
    await bpage.waitForURL(new RegExp(`/assets/${model}$`));
    await connect(bpage);
    const access = bpage.locator(`.js-access[data-asset="${model}"]`).first();
    await until('the access state to be shown', async () => (await access.getAttribute('data-access')) === 'no');

    // The buyer first rejects the purchase in the wallet: the page says so plainly.
    const buyForm = bpage.locator(`form.js-buy[data-asset="${model}"]`).first();
    buy.wallet.reject('eth_sendTransaction');
    await buyForm.locator('[type=submit]').click();
    const status = buyForm.locator('xpath=ancestor-or-self::*[.//*[contains(@class,"tx-status")]][1]').locator('.tx-status').first();
    await until('the rejection to be shown', async () => /rejected/i.test(await status.innerText()));
    await shot(bpage, 'buy-rejected');

    await buyForm.locator('[type=submit]').click();
    await until('the new attempt to replace the rejection', async () => (await status.getAttribute('data-state')) !== 'failed');
    await confirmed(bpage, status);
    assert.match(await status.innerText(), /0x[0-9a-f]{64}/, 'the status shows the transaction hash');
    await until('the access state to say yes', async () => (await access.getAttribute('data-access')) === 'yes');
    await shot(bpage, 'asset-bought');

    for (const [name, bytes] of Object.entries(files)) {
      const link = bpage.locator(`a.js-download[data-asset="${model}"]`, { hasText: name }).first();
      const [download] = await Promise.all([bpage.waitForEvent('download', { timeout: 30_000 }), link.click()]);
      const got = readFileSync(await download.path());
      assert.equal(sha256(got), sha256(bytes), `${name}: the downloaded bytes equal the original`);
    }
    assert.ok(buy.wallet.calls.includes('personal_sign'), 'the encrypted download signed in with Ethereum first');

    // The publisher's dashboard shows the earnings; withdraw; the balance rises by what the contract said.
    const owed = await claimable(model, dev.accounts[PUBLISHER].address);
    assert.ok(owed > 0n, 'the sale left the publisher something to withdraw');
    const dash = await pub.context.newPage();
    await dash.goto(`${dev.url}/dashboard?account=${dev.accounts[PUBLISHER].address}`);
    await dash.locator('button.js-withdraw').first().waitFor();
    await shot(dash, 'dashboard-publisher');
    const earnings = await (await fetch(`${dev.url}/api/accounts/${dev.accounts[PUBLISHER].address}/earnings`)).json();
    const eth = earnings.find((e) => e.asset === model && /^0x0{40}$/.test(e.token));
    assert.equal(BigInt(eth.claimable), owed, 'the API reports what the contract says');
    assert.ok((await dash.locator('main').innerText()).includes(eth.formatted), `the dashboard shows ${eth.formatted}`);
    const before = BigInt(await rpc(dev.rpcUrl, 'eth_getBalance', [dev.accounts[PUBLISHER].address, 'latest']));
    const withdraw = dash.locator('button.js-withdraw[data-token="ETH"], button.js-withdraw[data-token="0x0000000000000000000000000000000000000000"]').first();
    const wstatus = withdraw.locator('xpath=ancestor-or-self::*[.//*[contains(@class,"tx-status")]][1]').locator('.tx-status').first();
    await withdraw.click();
    await confirmed(dash, wstatus);
    const hash = await wstatus.locator('.tx-step').last().getAttribute('data-hash');
    const receipt = await rpc(dev.rpcUrl, 'eth_getTransactionReceipt', [hash]);
    const gas = BigInt(receipt.gasUsed) * BigInt(receipt.effectiveGasPrice);
    const afterBalance = BigInt(await rpc(dev.rpcUrl, 'eth_getBalance', [dev.accounts[PUBLISHER].address, 'latest']));
    assert.equal(afterBalance - before + gas, owed, 'the balance rose by the claimable amount (less gas)');
    assert.equal(await claimable(model, dev.accounts[PUBLISHER].address), 0n);
    await shot(dash, 'dashboard-withdrawn');
    await pub.context.close();
    await buy.context.close();
  });

  test('b: without JavaScript: home, search with filters and paging, an asset page', async () => {
    const context = await newContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${dev.url}/`);
    await page.locator('input[name=text]').first().waitFor();
    await shot(page, 'nojs-home');

    await page.locator('input[name=text]').first().fill('pagefiller');
    await Promise.all([page.waitForURL(/\/search\?/), page.locator('input[name=text]').first().press('Enter')]);
    const titles = () => page.locator('.results .result-title a').allInnerTexts();
    const first = await titles();
    assert.equal(first.length, 20, 'a full first page');
    await shot(page, 'nojs-search-page1');
    await Promise.all([page.waitForURL(/page=2/), page.locator('a[rel=next]').click()]);
    const second = await titles();
    assert.equal(second.length, 5, 'the rest on page 2');
    assert.ok(second.every((t) => !first.includes(t)), 'page 2 shows other assets');
    await shot(page, 'nojs-search-page2');

    // Filters through the GET form: kind and license.
    await page.locator('select[name=kind]').selectOption('model');
    await page.locator('input[name=license]').fill('MIT');
    await Promise.all([page.waitForURL(/kind=model/), page.locator('form[role=search] [type=submit]').click()]);
    const models = await titles();
    assert.equal(models.length, 10, `two MIT models from each of five seeders (got ${models.join(', ')})`);
    assert.ok(models.every((t) => t.startsWith('Filler')), 'only fillers match "pagefiller"');
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('license'), 'MIT');
    await shot(page, 'nojs-search-filtered');

    // The free-only filter and the URL carry through.
    await page.goto(`${dev.url}/search?text=tabular&free_only=on`);
    assert.deepEqual(await titles(), ['Flower measurements']);

    // The asset page reads without JavaScript.
    const id = story.model ?? story.dataset;
    await page.goto(`${dev.url}/assets/${id}`);
    await page.locator('h1').first().waitFor();
    const text = await page.locator('main').innerText();
    assert.match(text, story.model ? /Iris classifier/ : /Flower measurements/);
    assert.match(text, /baf[a-z2-7]{20,}/, 'the asset page shows CIDs');
    await shot(page, 'nojs-asset');
    await context.close();
  });

  /** Every page type, with the paths to visit. */
  function pages() {
    const id = story.model ?? story.dataset;
    return [
      ['home', '/'],
      ['search', '/search?text=filler&kind=dataset'],
      ['asset', `/assets/${id}`],
      ['asset-dataset', `/assets/${story.dataset}`],
      ['proposals', `/assets/${id}/proposals`],
      ['publish', '/publish'],
      ['dashboard', `/dashboard?account=${dev.accounts[PUBLISHER].address}`],
      ['dashboard-empty', '/dashboard'],
      ['not-found', '/assets/999999'],
    ];
  }

  test('c: axe-core finds no serious or critical violation on any page type', async () => {
    // addScriptTag injects axe inline, which the pages' CSP rightly refuses: this context alone bypasses it.
    const { context } = await userContext(BUYER, { bypassCSP: true });
    const page = await context.newPage();
    const found = [];
    for (const [name, path] of pages()) {
      await page.goto(`${dev.url}${path}`);
      await page.locator('html[data-app=ready]').waitFor();
      await shot(page, `axe-${name}`);
      for (const v of await axe(page)) found.push(`${name} (${path}): ${v}`);
    }
    // The wallet chooser, open.
    await page.goto(`${dev.url}/`);
    await page.locator('#wallet-connect').click();
    await page.locator('dialog.wallet-chooser').waitFor();
    for (const v of await axe(page)) found.push(`wallet chooser: ${v}`);
    await page.keyboard.press('Escape');
    await page.locator('dialog.wallet-chooser').waitFor({ state: 'detached' });
    assert.deepEqual(found, [], found.join('\n'));
    await context.close();
  });

  test('d: the dev wallet connects and shows an account', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${dev.url}/dashboard`);
    await page.locator('#wallet-connect').click();
    const option = page.locator('dialog.wallet-chooser').getByRole('button', { name: /Scal3ML dev wallet/ });
    // With only the dev wallet in the browser there is no chooser: its account picker opens at once.
    const picker = page.locator('dialog.devwallet');
    await Promise.race([
      option.waitFor({ timeout: 15_000 }).then(() => option.click()).catch(() => {}),
      picker.waitFor({ timeout: 15_000 }),
    ]).catch(() => {});
    await picker.waitFor({ timeout: 5_000 }).catch(async (e) => {
      throw new Error(`${e.message}\nstatus: ${await page.locator('.tx-status').first().innerText().catch(() => '')}${problems(context)}`);
    });
    assert.match(await picker.innerText(), /test account/i, 'the picker says these are test accounts');
    await shot(page, 'devwallet-picker');
    const accounts = await picker.locator('button.devwallet-account').count();
    assert.equal(accounts, 10, 'the ten dev accounts');
    await picker.locator('button.devwallet-account').nth(3).click();
    await page.waitForURL(/\/dashboard\?account=0x/i);
    await page.locator('#wallet-account[data-account]').waitFor();
    const shown = await page.locator('#wallet-account').getAttribute('data-account');
    assert.equal(shown.toLowerCase(), dev.accounts[3].address.toLowerCase());
    await shot(page, 'devwallet-connected');
    await context.close();
  });

  test('d2: a wallet on another chain is asked to switch, then to add the node chain', async () => {
    const { context, wallet } = await userContext(BUYER, { wallet: { startChainId: 1 } });
    const page = await context.newPage();
    await page.goto(`${dev.url}/`);
    await connect(page);
    await until('the wallet to be on the dev chain', () => wallet.state.chainId === CHAIN_ID);
    const i = wallet.calls.indexOf('wallet_switchEthereumChain');
    assert.ok(i >= 0 && wallet.calls.indexOf('wallet_addEthereumChain') > i, `switch then add: ${wallet.calls}`);
    const added = wallet.added[0];
    assert.equal(added.chainId, '0x7a69');
    assert.deepEqual(added.nativeCurrency, { name: 'Ether', symbol: 'ETH', decimals: 18 });
    assert.equal(added.rpcUrls.length, 1);
    await context.close();
  });

  test('e: at phone width (390 px) no page scrolls sideways', async () => {
    const context = await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const wide = [];
    for (const [name, path] of pages()) {
      await page.goto(`${dev.url}${path}`);
      await shot(page, `phone-${name}`);
      const o = await overflow(page);
      if (o.scrollWidth > o.width + 1) wide.push(`${name} (${path}): ${o.scrollWidth} px wide in ${o.width}: ${o.wide.join(', ')}`);
    }
    assert.deepEqual(wide, [], wide.join('\n'));
    await context.close();
  });
});
