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
import { cli, rpc, startDev, transact, until } from '../lib/node.mjs';
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

/** ERC-20 balanceOf(account) read from the chain. */
async function tokenBalance(token, account) {
  const data = '0x70a08231' + word(account);
  return BigInt(await rpc(dev.rpcUrl, 'eth_call', [{ to: token, data }, 'latest']));
}

/** The `.tx-status` that belongs to an element (the nearest ancestor holding one). */
function statusNear(el) {
  return el.locator('xpath=ancestor-or-self::*[.//*[contains(@class,"tx-status")]][1]').locator('.tx-status').first();
}

/** The binary form of a base32 CID (`b` multibase prefix), as the contract stores it. */
function cidBytes(cid) {
  assert.match(cid, /^b[a-z2-7]+$/, `a base32 CID: ${cid}`);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of cid.slice(1)) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** ABI encoding of a call by hand: `types` are 'word' (a number, BigInt or negative int) or 'bytes'/'string'. */
async function encodeCall(signature, types, values) {
  const heads = [];
  const tails = [];
  let offset = 32 * types.length;
  types.forEach((type, i) => {
    if (type === 'word') {
      heads.push(word(BigInt.asUintN(256, BigInt(values[i]))));
      return;
    }
    const bytes = type === 'string' ? Buffer.from(values[i]) : values[i];
    const padded = Buffer.concat([bytes, Buffer.alloc((32 - (bytes.length % 32)) % 32)]);
    const tail = word(bytes.length) + padded.toString('hex');
    heads.push(word(offset));
    tails.push(tail);
    offset += tail.length / 2;
  });
  return (await selector(signature)) + heads.join('') + tails.join('');
}

/** Reloads `page` until `fn(page)` holds (the node indexes the chain a moment after a block). */
async function reloadUntil(page, what, fn, ms = 20_000) {
  await until(
    what,
    async () => {
      await page.reload();
      return fn(page);
    },
    ms,
    300,
  );
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
    // The page's status area (outside the earnings panel, which is replaced once the withdrawal is confirmed).
    const wstatus = dash.locator('main .tx-status').first();
    await withdraw.click();
    await confirmed(dash, wstatus);
    const hash = await wstatus.locator('.tx-step').last().getAttribute('data-hash');
    const receipt = await rpc(dev.rpcUrl, 'eth_getTransactionReceipt', [hash]);
    const gas = BigInt(receipt.gasUsed) * BigInt(receipt.effectiveGasPrice);
    const afterBalance = BigInt(await rpc(dev.rpcUrl, 'eth_getBalance', [dev.accounts[PUBLISHER].address, 'latest']));
    assert.equal(afterBalance - before + gas, owed, 'the balance rose by the claimable amount (less gas)');
    assert.equal(await claimable(model, dev.accounts[PUBLISHER].address), 0n);
    // The earnings panel is read again without a reload: nothing is left to withdraw.
    await dash.locator('section[aria-labelledby="earn-h"] .empty', { hasText: 'Nothing to withdraw now.' }).waitFor();
    assert.equal(await dash.locator('button.js-withdraw').count(), 0, 'no withdraw button is left');
    assert.ok((await wstatus.innerText()).includes('Withdrawn'), 'the confirmation stays');
    await shot(dash, 'dashboard-withdrawn');
    await pub.context.close();
    await buy.context.close();
  });

  test('a2: a purchase paid in USDX: approve, then buy; the balance drops by the price; the download works', async () => {
    assert.ok(dev.usdx, `the banner names USDX:\n${dev.banner}`);
    // Two files, so the asset is a folder.
    const dir = join(work, 'prices');
    mkdirSync(dir, { recursive: true });
    const files = {
      'prices.parquet': Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) & 0xff)),
      'schema.json': Buffer.from('{"date": "string", "price": "float"}\n'),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    const published = await cli(dev.url, [
      'publish', dir, '--kind', 'dataset', '--name', 'Commodity prices', '--license', 'CC-BY-4.0',
      '--description', 'Daily prices, paid in stable tokens', '--price', '25', '--token', 'USDX',
      '--dev-account', String(PUBLISHER),
    ]);
    const asset = published.asset;
    const price = 25n * 10n ** 18n;
    const buyer = dev.accounts[BUYER].address;
    const before = await tokenBalance(dev.usdx, buyer);
    assert.equal(before, 1_000_000n * 10n ** 18n, 'every dev account starts with 1,000,000 USDX');

    const { context, wallet } = await userContext(BUYER);
    const page = await context.newPage();
    await page.goto(`${dev.url}/assets/${asset}`);
    await connect(page);
    const access = page.locator(`.js-access[data-asset="${asset}"]`).first();
    await until('the access state to be shown', async () => (await access.getAttribute('data-access')) === 'no');
    const form = page.locator(`form.js-buy[data-asset="${asset}"]`).first();
    const select = form.locator('select[name=token]');
    const usdxOption = select.locator('option', { hasText: 'USDX' });
    assert.equal(await usdxOption.count(), 1, `the token select offers USDX: ${await select.innerText()}`);
    assert.match(await usdxOption.innerText(), /25 USDX/, 'the option shows the price in USDX');
    await select.selectOption({ label: await usdxOption.innerText() });
    assert.equal((await select.inputValue()).toLowerCase(), dev.usdx.toLowerCase());

    const status = statusNear(form);
    const sent = wallet.signed.length;
    await form.locator('[type=submit]').click();
    await confirmed(page, status);
    const steps = status.locator('.tx-step');
    assert.equal(await steps.count(), 2, `two transactions: ${await status.innerText()}`);
    assert.match(await steps.nth(0).innerText(), /Allow the marketplace to take 25 USDX: Confirmed 0x[0-9a-f]{64}/);
    assert.match(await steps.nth(1).innerText(), new RegExp(`Buy a license on asset ${asset} for 25 USDX: Confirmed 0x[0-9a-f]{64}`));
    const txs = wallet.signed.slice(sent).filter((s) => s.method === 'eth_sendTransaction').map((s) => s.params[0]);
    assert.equal(txs.length, 2, 'the wallet was asked for two transactions');
    assert.equal(txs[0].to.toLowerCase(), dev.usdx.toLowerCase(), 'first the approval, sent to the token');
    assert.equal(txs[0].data.slice(0, 10), await selector('approve(address,uint256)'));
    assert.equal(txs[1].to.toLowerCase(), dev.marketplace.toLowerCase(), 'then the purchase, sent to the marketplace');
    assert.ok(!txs[1].value || BigInt(txs[1].value) === 0n, 'a USDX purchase sends no ETH');
    await until('the access state to say yes', async () => (await access.getAttribute('data-access')) === 'yes');
    assert.match(await access.innerText(), /license that never ends/);
    await shot(page, 'asset-bought-usdx');
    assert.equal(before - (await tokenBalance(dev.usdx, buyer)), price, 'the buyer paid exactly 25 USDX');

    for (const [name, bytes] of Object.entries(files)) {
      const link = page.locator(`a.js-download[data-asset="${asset}"]`, { hasText: name }).first();
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), link.click()]);
      assert.equal(sha256(readFileSync(await download.path())), sha256(bytes), `${name}: the downloaded bytes equal the original`);
    }

    // The publisher's earnings are in USDX.
    const earnings = await (await fetch(`${dev.url}/api/accounts/${dev.accounts[PUBLISHER].address}/earnings`)).json();
    const usdx = earnings.find((e) => e.asset === asset);
    assert.equal(usdx?.symbol, 'USDX', JSON.stringify(earnings));
    assert.ok(BigInt(usdx.claimable) > 0n && BigInt(usdx.claimable) <= price);
    await context.close();
  });

  test('a3: a contributor proposes a cleaned dataset for 10% through the page: shareholders vote, it executes, the next sale pays it', async () => {
    const PROPOSER = 0;
    const proposer = dev.accounts[PROPOSER].address;
    const row = (id, station, reading) => `${id},${station},${reading}\n`;
    const header = 'id,station,reading\n';
    const original = header + row(1, 'oslo', 3.5) + row(2, 'lima', 18.25) + row(3, 'lima', 18.25) + row(4, 'pune', 31) + row(5, 'pune', 31) + row(6, 'nuuk', -4.5);
    const cleaned = header + row(1, 'oslo', 3.5) + row(2, 'lima', 18.25) + row(4, 'pune', 31) + row(6, 'nuuk', -4.5);
    const file = join(work, 'readings.csv');
    writeFileSync(file, original);
    const cleanedFile = join(work, 'cleaned.csv');
    writeFileSync(cleanedFile, cleaned);
    // A sold dataset (so encrypted), 30% of it with a collaborator; the contributor buys a license to improve it.
    const published = await cli(dev.url, [
      'publish', file, '--kind', 'dataset', '--name', 'Station readings', '--license', 'CC-BY-4.0',
      '--description', 'Temperatures from four weather stations', '--price', '0.01',
      '--collaborator', `${dev.accounts[COLLABORATOR].address}=30`, '--dev-account', String(PUBLISHER),
    ]);
    assert.equal(published.encrypted, true);
    const asset = published.asset;
    story.shared = asset;
    await cli(dev.url, ['buy', String(asset), '--dev-account', String(PROPOSER)]);

    // The contributor proposes the cleaned file through the form: the node encrypts the file under a fresh key,
    // the wallet signs that key's deposit and sends the proposal.
    const prop = await userContext(PROPOSER);
    const ppage = await prop.context.newPage();
    await ppage.goto(`${dev.url}/assets/${asset}/proposals`);
    await connect(ppage);
    const form = ppage.locator('form#propose-form');
    await form.locator('input[type=file][name=file]').setInputFiles(cleanedFile);
    await setField(form, 'shares', '10%');
    await setField(form, 'message', 'Drop rows **3 and 5**: they duplicate rows 2 and 4');
    await shot(ppage, 'propose-filled');
    await Promise.all([
      ppage.waitForEvent('load', { timeout: 90_000 }),
      form.locator('[type=submit]').click(),
    ]).catch(async (e) => {
      throw new Error(`${e.message}\nstatus: ${await form.locator('.tx-status').innerText().catch(() => '')}${problems(prop.context)}`);
    });
    const listed = await (await fetch(`${dev.url}/api/assets/${asset}/proposals`)).json();
    assert.equal(listed.length, 1, JSON.stringify(listed));
    const proposal = listed[0].id;
    assert.equal(BigInt(listed[0].requested_shares), 1111n, '10% of the shares after the mint of 10000');
    assert.equal(prop.wallet.calls.filter((c) => c === 'eth_signTypedData_v4').length, 1, 'only the key deposit was signed');
    const card = ppage.locator(`#proposal-${proposal}`);
    await card.waitFor();
    const text = () => card.innerText();
    assert.match(await text(), /Asks for\s+1,111 shares \(10% after issue\)/);
    assert.match(await text(), /Yes 0% · No 0% of all shares · 0 votes/);
    assert.match(await text(), /Needs 5,001 more yes shares to pass/);
    assert.equal(await card.locator('.message strong').innerText(), '3 and 5', 'the message is rendered Markdown');
    // What passing would change in the shares: the publisher 70% -> 63%, the proposer 0% -> 10%.
    const shareRow = (address) => card.locator('table.share-change tr', { has: ppage.locator(`code[title="${address}"]`) });
    assert.match(await shareRow(dev.accounts[PUBLISHER].address).innerText(), /70%\s+63%/);
    assert.match(await shareRow(dev.accounts[COLLABORATOR].address).innerText(), /30%\s+27%/);
    assert.match(await shareRow(proposer).innerText(), /\(proposer\)\s+0%\s+10%/);

    // The form signed in with Ethereum before it uploaded (uploads are signed by an account).
    assert.ok(prop.wallet.calls.includes('personal_sign'), 'signed in before uploading');
    // The content is encrypted: signed out (as after the node restarts), the diff appears once the reviewer signs
    // in with an account that has access.
    await prop.context.clearCookies();
    await ppage.reload();
    await card.waitFor();
    assert.match(await card.locator('.diff-note').innerText(), /sign in/i);
    await card.locator('button.js-signin').click();
    await card.locator('section.diff').waitFor({ timeout: 20_000 });
    const diffText = await card.locator('section.diff').innerText();
    assert.match(diffText, /removed rows \(2\)/, diffText);
    assert.ok(prop.wallet.calls.includes('personal_sign'), 'signed in with Ethereum');
    await shot(ppage, 'proposal-open');

    // The collaborator (30%) votes no: no majority; executing now is refused before any wallet opens.
    const col = await userContext(COLLABORATOR);
    const cpage = await col.context.newPage();
    await cpage.goto(`${dev.url}/assets/${asset}/proposals`);
    await connect(cpage);
    const cvote = cpage.locator(`#proposal-${proposal} button.js-vote[data-support="false"]`);
    await cvote.click();
    await confirmed(cpage, statusNear(cvote));
    await reloadUntil(ppage, 'the tally to show 30% no', async () => /Yes 0% · No 30% of all shares · 1 vote\b/.test(await text()));
    const execute = ppage.locator(`#proposal-${proposal} button.js-execute`);
    const pstatus = statusNear(execute);
    const sentBefore = prop.wallet.calls.filter((c) => c === 'eth_sendTransaction').length;
    await execute.click();
    await until('the refusal to be shown', async () => (await pstatus.getAttribute('data-state')) === 'failed');
    assert.match(await pstatus.innerText(), /has 0 yes votes but needs 5001/);
    assert.equal(prop.wallet.calls.filter((c) => c === 'eth_sendTransaction').length, sentBefore, 'the wallet was not asked to send a doomed transaction');
    await shot(ppage, 'proposal-not-passed');

    // The publisher (70%) votes yes: a majority; the contributor executes it.
    const pub = await userContext(PUBLISHER);
    const page = await pub.context.newPage();
    await page.goto(`${dev.url}/assets/${asset}/proposals`);
    await connect(page);
    const vote = page.locator(`#proposal-${proposal} button.js-vote[data-support="true"]`);
    await vote.click();
    await confirmed(page, statusNear(vote));
    await reloadUntil(ppage, 'the tally to show 70% yes', async () => /Yes 70% · No 30% of all shares · 2 votes/.test(await text()));
    assert.match(await text(), /Has a majority: anyone may execute it/);
    await shot(ppage, 'proposal-passed');
    await ppage.locator(`#proposal-${proposal} button.js-execute`).click();
    await confirmed(ppage, statusNear(ppage.locator(`#proposal-${proposal} button.js-execute`)));
    await reloadUntil(ppage, 'the proposal to read executed', async () => /executed/i.test(await ppage.locator(`#proposal-${proposal} .badge`).innerText()));
    assert.match(await text(), /Became\s+version 1/);
    assert.equal(await ppage.locator(`#proposal-${proposal} button:not(.js-discussion *)`).count(), 0, 'no more buttons on an executed proposal');
    await shot(ppage, 'proposal-executed');

    // The asset page: v1 by the contributor, who holds 10% of the shares.
    await ppage.goto(`${dev.url}/assets/${asset}`);
    const versions = ppage.locator('section[aria-labelledby=versions-h]');
    assert.equal(await versions.locator('li', { hasText: 'v1' }).locator(`code[title="${proposer}"]`).count(), 1, 'v1 is by the contributor');
    const holders = ppage.locator('section[aria-labelledby=holders-h] li');
    assert.match(await holders.filter({ has: ppage.locator(`a[title="${proposer}"]`) }).innerText(), /10%/);

    // What v1 changed, from the version's link: encrypted, so read as the signed-in contributor (a licensee);
    // anyone else is told to sign in, and the API refuses without a session.
    await versions.locator('a.changes-link', { hasText: 'What changed from v0' }).click();
    await ppage.locator('section.diff').waitFor({ timeout: 20_000 });
    const changes = await ppage.locator('section.diff').innerText();
    assert.match(changes, /removed rows \(2\)/, changes);
    assert.match(await ppage.locator('h1').innerText(), /v0 → v1/);
    await shot(ppage, 'version-changes');
    const anonymous = await (await fetch(`${dev.url}/assets/${asset}/changes?from=0&to=1`)).text();
    assert.match(anonymous, /sign in with a wallet that has access/);
    const refused = await fetch(`${dev.url}/api/assets/${asset}/diff?from=0&to=1`);
    assert.equal(refused.status, 403);

    // The next sale, in the browser, pays the contributor its share.
    const buy = await userContext(BUYER);
    const bpage = await buy.context.newPage();
    await bpage.goto(`${dev.url}/assets/${asset}`);
    await connect(bpage);
    const buyForm = bpage.locator(`form.js-buy[data-asset="${asset}"]`).first();
    await buyForm.locator('[type=submit]').click();
    await confirmed(bpage, statusNear(buyForm));
    const price = 10n ** 16n;
    const owed = (price / 11111n) * 1111n;
    assert.equal(await claimable(asset, proposer), owed, 'the sale credited the contributor 1111 of 11111 shares of it');
    const dash = await prop.context.newPage();
    await dash.goto(`${dev.url}/dashboard?account=${proposer}`);
    const earnings = await (await fetch(`${dev.url}/api/accounts/${proposer}/earnings`)).json();
    const eth = earnings.find((e) => e.asset === asset && /^0x0{40}$/.test(e.token));
    assert.equal(BigInt(eth.claimable), owed);
    assert.ok((await dash.locator('main').innerText()).includes(eth.formatted), `the dashboard shows ${eth.formatted}`);
    await shot(dash, 'dashboard-contributor');
    await Promise.all([prop.context.close(), pub.context.close(), col.context.close(), buy.context.close()]);
  });

  test('a3b: evaluators attest, endorse and dispute; the dataset page ranks them with their counts', async () => {
    const [EVAL_1, EVAL_2, EVAL_3] = [5, 6, 7];
    const fixtures = new URL('../../../crates/eval/fixtures/', import.meta.url).pathname;
    const csv = join(work, 'iris-test.csv');
    writeFileSync(csv, readFileSync(join(fixtures, 'iris_svc.csv')));
    const dataset = (await cli(dev.url, [
      'publish', csv, '--kind', 'dataset', '--name', 'Iris test split', '--license', 'CC-BY-4.0',
      '--description', 'Thirty irises held out', '--price', '0.01', '--dev-account', String(PUBLISHER),
    ])).asset;
    const model = (await cli(dev.url, [
      'publish', join(fixtures, 'iris_svc.onnx'), '--kind', 'model', '--name', 'Iris SVC', '--license', 'MIT',
      '--description', 'An RBF support vector classifier', '--dev-account', String(PUBLISHER),
    ])).asset;
    const as = (i) => ['--dev-account', String(i)];
    await cli(dev.url, ['buy', String(dataset), ...as(EVAL_1)]);
    const first = await cli(dev.url, ['eval', String(model), '--on', String(dataset), '--label', 'label', '--attest', ...as(EVAL_1)]);
    const good = first.attestations[0];
    await cli(dev.url, ['buy', String(dataset), ...as(EVAL_2)]);
    const endorsed = await cli(dev.url, ['eval', 'verify', String(good.id), ...as(EVAL_2)]);
    assert.equal(endorsed.action, 'endorse');
    // A third account attests a wrong accuracy from a script, naming the first report; the re-run disputes it.
    const data = await encodeCall(
      'attest(uint256,uint256,uint256,uint256,string,int256,uint8,bytes)',
      ['word', 'word', 'word', 'word', 'string', 'word', 'word', 'bytes'],
      [model, 0, dataset, 0, 'accuracy', 500000, 6, cidBytes(first.report_cid)],
    );
    const receipt = await transact(dev.rpcUrl, { from: dev.accounts[EVAL_3].address, to: dev.attestations, data });
    const wrong = Number(BigInt(receipt.logs.find((l) => l.address.toLowerCase() === dev.attestations.toLowerCase()).topics[1]));
    await until('the wrong attestation to be indexed', async () =>
      (await (await fetch(`${dev.url}/api/assets/${dataset}/attestations`)).json()).some((a) => a.id === wrong));
    const disputed = await cli(dev.url, ['eval', 'verify', String(wrong), ...as(EVAL_2)]);
    assert.equal(disputed.action, 'dispute');

    const ctx = await newContext(browser);
    const page = await ctx.newPage();
    const board = page.locator('section[aria-labelledby=board-h] table.leaderboard tbody tr');
    await page.goto(`${dev.url}/assets/${dataset}`);
    await reloadUntil(page, 'both attestations to be ranked with their counts', async () =>
      (await board.count()) === 2 && /\b1\s*$/.test((await board.nth(1).locator('td').nth(6).innerText())));
    const cells = async (i) => (await board.nth(i).locator('td').allInnerTexts()).map((t) => t.trim());
    const [top, bottom] = [await cells(0), await cells(1)];
    assert.equal(top[2], good.value, `the true accuracy first: ${top}`);
    assert.deepEqual([top[5], top[6]], ['1', '0'], 'endorsed once, never disputed');
    assert.match(bottom[2], /^0\.500000\s+disputed$/i);
    assert.deepEqual([bottom[5], bottom[6]], ['0', '1'], 'disputed once');
    await shot(page, 'leaderboard');
    await ctx.close();
  });

  test('a4: a folder through the form: nested paths listed, the bar full, downloads equal the originals', async () => {
    const top = join(work, 'corpus');
    const files = {
      'train/part-0.jsonl': Buffer.from(Array.from({ length: 400_000 }, (_, i) => 97 + ((i * 31) % 26))),
      'train/labels/classes.txt': Buffer.from('cat\ndog\n'),
      'eval/part-0.jsonl': Buffer.from('{"text": "held out"}\n'),
      'LICENSE.txt': Buffer.from('CC0\n'),
    };
    for (const [path, bytes] of Object.entries(files)) {
      mkdirSync(join(top, path, '..'), { recursive: true });
      writeFileSync(join(top, path), bytes);
    }
    const total = Object.values(files).reduce((n, b) => n + b.length, 0);

    const { context, wallet } = await userContext(SEEDER);
    const page = await context.newPage();
    await page.goto(`${dev.url}/publish`);
    await connect(page);
    const form = page.locator('form#publish-form');
    await setField(form, 'kind', 'dataset');
    await setField(form, 'name', 'Nested corpus');
    await setField(form, 'description', 'Pet texts, split in folders');
    await setField(form, 'license', 'CC0-1.0');
    await form.locator('input[type=file][webkitdirectory]').setInputFiles(top);
    const chosen = await form.locator('input[type=file][webkitdirectory]').evaluate((el) =>
      [...el.files].map((f) => f.webkitRelativePath).sort(),
    );
    assert.deepEqual(chosen, Object.keys(files).map((p) => `corpus/${p}`).sort(), 'the browser took the whole folder');

    // The wallet waits (as a person reading the transaction would) so the finished upload can be seen.
    const held = wallet.hold('eth_sendTransaction');
    await form.locator('[type=submit]').click();
    await Promise.race([
      held.reached,
      page.locator('form#publish-form .tx-status[data-state=failed]').waitFor({ timeout: 60_000 }).then(async () => {
        throw new Error(`the publish failed: ${await form.locator('.tx-status').innerText()}`);
      }),
    ]);
    const bar = await form.locator('progress').evaluate((p) => ({ value: p.value, max: p.max, hidden: p.hidden }));
    assert.equal(bar.hidden, false, 'the bar is shown');
    assert.ok(bar.max >= total, `the bar counts the bytes sent (max ${bar.max} of ${total} bytes of files)`);
    assert.equal(bar.value, bar.max, 'the bar is full once the upload is done');
    await shot(page, 'publish-folder-uploaded');
    await Promise.all([page.waitForURL(/\/assets\/\d+$/, { timeout: 60_000 }), Promise.resolve().then(() => held.release())]);
    const asset = Number(new URL(page.url()).pathname.split('/').pop());

    const paths = await page.locator('table.files td.path').allInnerTexts();
    assert.deepEqual(paths.map((p) => p.trim()).sort(), Object.keys(files).sort(), 'the files with their paths inside the folder');
    assert.match(await page.locator('#files-h').innerText(), /4 ·/);
    await shot(page, 'asset-folder');
    for (const [path, bytes] of Object.entries(files)) {
      const row = page.locator('table.files tr', { has: page.locator('td.path', { hasText: new RegExp(`^${path}$`) }) });
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: 30_000 }),
        row.locator(`a.js-download[data-asset="${asset}"]`).click(),
      ]);
      assert.equal(sha256(readFileSync(await download.path())), sha256(bytes), `${path}: the downloaded bytes equal the original`);
    }
    await context.close();
  });

  test('a5: several bad fields at once: each message beside its field, then fixed, it publishes', async () => {
    const file = join(work, 'derived.csv');
    writeFileSync(file, 'petal,label\n1.4,setosa\n');
    const { context } = await userContext(SEEDER);
    const page = await context.newPage();
    await page.goto(`${dev.url}/publish`);
    await connect(page);
    const form = page.locator('form#publish-form');
    await setField(form, 'kind', 'dataset');
    await setField(form, 'name', 'Derived petals');
    await setField(form, 'license', 'MIT');
    await setField(form, 'price', 'ten');
    const collaborator = form.locator('[name=collaborator]').first();
    const parent = form.locator('[name=parent]').first();
    await collaborator.fill('0xnotanaddress=20');
    await parent.fill('999999=10');
    await form.locator('input[type=file][name=file]').setInputFiles(file);
    await form.locator('[type=submit]').click();

    const bad = { price: form.locator('[name=price]'), collaborator, parent };
    for (const [name, field] of Object.entries(bad)) {
      const slot = form.locator(`.field-error[data-field="${name}"]`);
      await slot.locator('xpath=self::*[normalize-space()]').waitFor({ timeout: 20_000 }).catch(async (e) => {
        throw new Error(`${name}: no message (${e.message}); the status reads: ${await form.locator('.tx-status').innerText()}`);
      });
      assert.equal(await field.getAttribute('aria-invalid'), 'true', `${name} is marked invalid`);
      const id = await slot.getAttribute('id');
      assert.ok((await field.getAttribute('aria-describedby')).split(/\s+/).includes(id), `${name} is described by its message`);
      // Beside its own field: in the same field box, or the same fieldset for the repeated rows.
      const together = await slot.evaluate(
        (s, n) => (s.closest('.field') || s.closest('fieldset')).contains(s.ownerDocument.querySelector(`[name="${n}"]`)),
        name,
      );
      assert.ok(together, `${name}: the message is beside the field`);
    }
    assert.match(await form.locator('.field-error[data-field="parent"]').innerText(), /999999/);
    assert.match(await form.locator('.field-error[data-field="collaborator"]').innerText(), /0xnotanaddress|address/i);
    assert.match(await form.locator('.field-error[data-field="price"]').innerText(), /.{5,}/);
    const others = await form.locator('.field-error:not([data-field=price]):not([data-field=collaborator]):not([data-field=parent])').allInnerTexts();
    assert.deepEqual(others.filter((t) => t.trim()), [], 'no other field is blamed');
    assert.equal(await form.locator('[aria-invalid=true]').count(), 3, 'exactly the three bad fields are marked');
    await shot(page, 'publish-three-errors');

    await setField(form, 'price', '0.01');
    await collaborator.fill(`${dev.accounts[COLLABORATOR].address}=20`);
    await parent.fill(`${story.dataset}=10`);
    await Promise.all([page.waitForURL(/\/assets\/\d+$/, { timeout: 60_000 }), form.locator('[type=submit]').click()]).catch(
      async (e) => {
        throw new Error(`${e.message}\nstatus: ${await form.locator('.tx-status').innerText().catch(() => '')}${problems(context)}`);
      },
    );
    await page.getByRole('heading', { name: 'Derived petals' }).first().waitFor();
    const lineage = page.locator('section[aria-labelledby=lineage-h]');
    assert.equal(await lineage.locator(`a[href="/assets/${story.dataset}"]`).count() > 0, true, 'the parent is in the lineage');
    const holders = await page.locator('section[aria-labelledby=holders-h]').innerText();
    assert.match(holders, /80%/);
    assert.match(holders, /20%/);
    await shot(page, 'asset-fixed-publish');
    await context.close();
  });

  test(
    // Regression: a single-file asset's download link named a path below its content, which is the file itself.
    'a6: a single-file asset downloads from its page',
    async () => {
      // The seeded "Flower measurements" is one free CSV: a plain link, no wallet needed.
      const context = await newContext(browser);
      const page = await context.newPage();
      try {
        await page.goto(`${dev.url}/assets/${story.dataset}`);
        const link = page.locator(`a.js-download[data-asset="${story.dataset}"]`, { hasText: 'flowers.csv' }).first();
        const href = await link.getAttribute('href');
        const res = await page.request.get(`${dev.url}${href}`);
        assert.equal(res.status(), 200, `GET ${href}: ${res.status()} ${await res.text()}`);
        const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), link.click()]);
        assert.equal(
          readFileSync(await download.path(), 'utf8'),
          'sepal,petal,label\n5.1,1.4,setosa\n6.3,4.9,versicolor\n',
          'the downloaded bytes equal the original',
        );
        assert.equal(download.suggestedFilename(), 'flowers.csv', 'the file keeps its name');
      } finally {
        await context.close();
      }
    },
  );

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
      ...(story.shared ? [['proposals-executed', `/assets/${story.shared}/proposals`]] : []),
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
