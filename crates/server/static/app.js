// The page behaviours: binds the hooks of docs/web.md (connect, buy, download, access state, withdraw, proposals,
// publish) to wallet.js. Pages work for reading without it; everything here needs a wallet.

// wallet.js and devwallet.js are loaded from their own <script type="module"> tags when the page has them (so
// the module is not loaded twice under two URLs), else from beside this file.
function moduleUrl(name) {
  for (const script of document.querySelectorAll('script[type="module"][src]')) {
    const base = new URL(script.src, location.href).pathname.split('/').pop();
    if (new RegExp(`^${name}([.-][0-9A-Za-z_]+)?\\.js$`).test(base)) return script.src;
  }
  return new URL(`./${name}.js`, import.meta.url).href;
}

function readConfig() {
  try {
    return JSON.parse(document.getElementById('scal3ml-config')?.textContent || '{}');
  } catch {
    return {};
  }
}

if (readConfig().dev_wallet) {
  try {
    await import(moduleUrl('devwallet'));
  } catch (e) {
    console.error('scal3ml: the dev wallet did not load', e);
  }
}
const wallet = await import(moduleUrl('wallet'));
const { config, explain, postJson, fetchJson, sendSteps, statusView, shortAddress } = wallet;

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** The `.tx-status` nearest to an element: inside it, inside its closest section/form/article, else the page's. */
function statusFor(el) {
  if (!el) return $('.tx-status');
  if (el.matches?.('.tx-status')) return el;
  for (let node = el; node && node !== document; node = node.parentElement) {
    const found = node.querySelector?.('.tx-status');
    if (found) return found;
  }
  return $('.tx-status');
}

function idValue(text) {
  return /^\d+$/.test(String(text)) ? Number(text) : text;
}

// ------------------------------------------------------------------------------------------------ connect

const onDashboard = location.pathname.replace(/\/+$/, '') === '/dashboard';

function showAccount(state) {
  const out = $('#wallet-account');
  const button = $('#wallet-connect');
  if (out) {
    out.textContent = state.account ? shortAddress(state.account) : '';
    if (state.account) {
      out.title = state.account;
      out.dataset.account = state.account;
    } else {
      out.removeAttribute('title');
      delete out.dataset.account;
    }
  }
  if (button) {
    button.textContent = state.account ? 'Change wallet' : 'Connect wallet';
    button.dataset.connected = state.account ? 'true' : 'false';
  }
  document.documentElement.dataset.account = state.account || '';
}

function goToDashboard(account) {
  const current = new URLSearchParams(location.search).get('account');
  if (account && (!current || current.toLowerCase() !== account.toLowerCase())) {
    location.assign(`/dashboard?account=${encodeURIComponent(account)}`);
    return true;
  }
  return false;
}

/** Connects (asking the person) and returns the account; shows the reason in `statusEl` when it cannot. */
async function needAccount(statusEl) {
  try {
    return await wallet.connect();
  } catch (err) {
    statusView(statusEl).message(explain(err), 'failed');
    return null;
  }
}

/** What connecting says goes in a `.tx-status` beside the connect button, made when the page has none there. */
function walletStatus(button) {
  const parent = button.parentElement || document.body;
  const existing = parent.querySelector('.tx-status');
  if (existing) return existing;
  const el = document.createElement('div');
  el.className = 'tx-status wallet-status';
  el.setAttribute('role', 'status');
  el.setAttribute('aria-live', 'polite');
  (button.parentElement || document.body).append(el);
  return el;
}

function bindConnect() {
  const button = $('#wallet-connect');
  if (!button) return;
  button.hidden = false;
  button.disabled = false;
  button.addEventListener('click', async () => {
    const own = button.parentElement?.querySelector('.tx-status');
    if (own) statusView(own).clear();
    if (wallet.state.account) wallet.disconnect();
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const account = await wallet.connect();
      if (onDashboard) goToDashboard(account);
    } catch (err) {
      statusView(walletStatus(button)).message(explain(err), 'failed');
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  });
}

// ------------------------------------------------------------------------------------------------ access state

function formatExpiry(expiry) {
  const n = Number(expiry);
  if (!expiry || !Number.isFinite(n) || n <= 0 || n >= 2 ** 53 / 1000) return null;
  return new Date(n * 1000).toLocaleString();
}

function describeAccess(access, account) {
  const parts = [];
  const owner = access.owner;
  const isOwner = owner === true || (typeof owner === 'string' && owner.toLowerCase() === account.toLowerCase());
  if (isOwner) parts.push('You own this asset.');
  if (access.has_access) {
    const until = formatExpiry(access.expiry);
    if (until) parts.push(`You have a license until ${until}.`);
    else if (access.perpetual) parts.push('You have a license that never ends.');
    else parts.push('You have access.');
  } else if (!isOwner) {
    parts.push('You have no license for this asset yet.');
  }
  const shares = Number(access.shares || 0);
  if (shares > 0) parts.push(`You hold ${access.shares} of its revenue shares.`);
  return parts.join(' ');
}

async function refreshAccess() {
  const account = wallet.state.account;
  for (const el of $$('.js-access[data-asset]')) {
    if (!account) {
      el.textContent = 'Connect a wallet to see your access.';
      el.dataset.access = '';
      continue;
    }
    try {
      const access = await fetchJson(
        `/api/assets/${encodeURIComponent(el.dataset.asset)}/access/${encodeURIComponent(account)}`,
      );
      el.textContent = describeAccess(access, account);
      el.dataset.access = access.has_access ? 'yes' : 'no';
    } catch (err) {
      el.textContent = `Access unknown: ${explain(err)}`;
      el.dataset.access = '';
    }
  }
}

// ------------------------------------------------------------------------------------------------ prepared transactions

/** Asks the server to prepare a transaction, then sends its steps; shows progress in `statusEl`. */
async function prepareAndSend(route, body, statusEl) {
  const status = statusView(statusEl);
  status.message('Preparing the transaction…', 'pending');
  let prepared;
  try {
    prepared = await postJson(route, body);
  } catch (err) {
    status.message(explain(err), 'failed');
    return null;
  }
  try {
    const receipts = await sendSteps(prepared.steps || [], statusEl);
    return { prepared, receipts };
  } catch (err) {
    // sendSteps has already marked the step that failed; a rejection before any step reads plainly too.
    if (!statusEl?.querySelector('.tx-failed')) status.message(explain(err), 'failed');
    return null;
  }
}

function busy(el, on) {
  if (!el) return;
  el.disabled = on;
  if (on) el.setAttribute('aria-busy', 'true');
  else el.removeAttribute('aria-busy');
}

function bindBuy() {
  for (const form of $$('form.js-buy[data-asset]')) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const status = statusFor(form);
      const submit = form.querySelector('[type=submit]');
      busy(submit, true);
      try {
        const account = await needAccount(status);
        if (!account) return;
        // The terms this page shows go with the purchase: if the owner changes the price, the duration or the
        // card before it is mined, the contract reverts instead of selling something else.
        const field = form.querySelector('select[name=token], input[name=token]');
        const chosen = field?.selectedOptions?.[0] || field;
        const done = await prepareAndSend(
          '/api/tx/buy',
          {
            account,
            asset: idValue(form.dataset.asset),
            token: field?.value || '',
            max_price: chosen?.dataset.price || '',
            duration: Number(chosen?.dataset.duration || 0),
            metadata_cid: form.dataset.metadataCid || '',
          },
          status,
        );
        if (done) {
          const p = document.createElement('p');
          p.className = 'tx-message tx-confirmed';
          p.textContent = 'Bought: your license is on the chain. You can download the files now.';
          status?.append(p);
          await refreshAccess();
        }
      } finally {
        busy(submit, false);
      }
    });
  }
}

function bindWithdraw(root = document) {
  for (const button of $$('button.js-withdraw[data-token]', root)) {
    button.addEventListener('click', async () => {
      const status = statusFor(button);
      busy(button, true);
      try {
        const account = await needAccount(status);
        if (!account) return;
        const done = await prepareAndSend(
          '/api/tx/withdraw',
          { account, token: button.dataset.token, assets: parseList(button.dataset.assets) },
          status,
        );
        if (done) {
          const p = document.createElement('p');
          p.className = 'tx-message tx-confirmed';
          p.textContent = 'Withdrawn: the amount is in your account.';
          status?.append(p);
          button.dataset.withdrawn = 'true';
          button.textContent = 'Withdrawn';
          await refreshSection(button.closest('section[aria-labelledby]'), bindWithdraw);
        }
      } finally {
        busy(button, false);
        if (button.dataset.withdrawn === 'true') button.disabled = true;
      }
    });
  }
}

/**
 * Replaces `section` by the same section of the page loaded again (the server reads it from the chain), then
 * binds its behaviours with `bind(section)`. Keeps the old one if the page cannot be read.
 */
async function refreshSection(section, bind) {
  if (!section) return;
  try {
    const res = await fetch(location.href, { headers: { accept: 'text/html' }, cache: 'no-store' });
    if (!res.ok) return;
    const page = new DOMParser().parseFromString(await res.text(), 'text/html');
    const label = section.getAttribute('aria-labelledby');
    const fresh = page.querySelector(`section[aria-labelledby="${CSS.escape(label)}"]`);
    if (!fresh) return;
    const adopted = document.importNode(fresh, true);
    section.replaceWith(adopted);
    bind(adopted);
  } catch (e) {
    console.warn('scal3ml: could not read the page again', e);
  }
}

function parseList(text) {
  if (!text) return [];
  try {
    const v = JSON.parse(text);
    if (Array.isArray(v)) return v.map(idValue);
  } catch {
    // Not JSON: a list separated by commas or spaces.
  }
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(idValue);
}

function parseBool(text) {
  return !/^(false|0|no|against)$/i.test(String(text ?? '').trim());
}

function bindProposals() {
  const kinds = [
    ['button.js-vote[data-proposal]', '/api/tx/vote', (b) => ({ support: parseBool(b.dataset.support) })],
    ['button.js-execute[data-proposal]', '/api/tx/execute', () => ({})],
    ['button.js-reject[data-proposal]', '/api/tx/reject', () => ({})],
  ];
  for (const [selector, route, extra] of kinds) {
    for (const button of $$(selector)) {
      button.addEventListener('click', async () => {
        const status = statusFor(button);
        busy(button, true);
        try {
          const account = await needAccount(status);
          if (!account) return;
          const done = await prepareAndSend(
            route,
            { account, proposal: idValue(button.dataset.proposal), ...extra(button) },
            status,
          );
          if (done) {
            const p = document.createElement('p');
            p.className = 'tx-message tx-confirmed';
            p.textContent = 'Done. Reload the page to see the new tally.';
            status?.append(p);
          }
        } finally {
          busy(button, false);
        }
      });
    }
  }
}

// ------------------------------------------------------------------------------------------------ downloads

function bindDownloads() {
  for (const link of $$('a.js-download[data-asset]')) {
    if (!parseBool(link.dataset.encrypted ?? 'false')) continue; // a free asset's link is a plain link
    link.addEventListener('click', async (event) => {
      if (link.dataset.signedIn === 'now') {
        // Our own re-click after signing in: let the browser follow the link.
        delete link.dataset.signedIn;
        return;
      }
      event.preventDefault();
      const status = statusFor(link);
      const view = statusView(status);
      try {
        view.message('Sign in with your wallet to download…', 'pending');
        await wallet.signIn();
        view.message('Signed in: downloading.', 'confirmed');
      } catch (err) {
        view.message(explain(err), 'failed');
        return;
      }
      link.dataset.signedIn = 'now';
      link.click();
    });
  }
}

// ------------------------------------------------------------------------------------------------ publish

function clearFieldErrors(form) {
  for (const el of $$('.field-error[data-field]', form)) {
    el.textContent = '';
    el.hidden = true;
  }
  for (const el of $$('[aria-invalid="true"]', form)) el.removeAttribute('aria-invalid');
}

function showFieldErrors(form, fields) {
  let first = null;
  const unplaced = [];
  for (const [name, message] of Object.entries(fields || {})) {
    const slot =
      form.querySelector(`.field-error[data-field="${CSS.escape(name)}"]`) ||
      document.querySelector(`.field-error[data-field="${CSS.escape(name)}"]`);
    if (slot) {
      slot.textContent = message;
      slot.hidden = false;
      if (!slot.id) slot.id = `field-error-${name}`;
    } else {
      unplaced.push(`${name}: ${message}`);
    }
    const field = form.querySelector(`[name="${CSS.escape(name)}"]`) || form.querySelector(`#${CSS.escape(name)}`);
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      if (slot) {
        const ids = new Set((field.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean));
        ids.add(slot.id);
        field.setAttribute('aria-describedby', [...ids].join(' '));
      }
      first ||= field;
    }
  }
  first?.focus();
  return unplaced;
}

/**
 * The multipart body: the account and every named field of the form first, then the README, then each file
 * as a `file` part named by its path (the server reads the card fields before the files).
 */
function publishBody(form, account) {
  const data = new FormData();
  const readme = [];
  const files = [];
  data.append('account', account);
  for (const el of form.elements) {
    const name = el.name;
    if (!name || el.disabled || name === 'account') continue;
    if (el.type === 'file') {
      for (const file of el.files || []) (name === 'readme' ? readme : files).push(file);
      continue;
    }
    if ((el.type === 'checkbox' || el.type === 'radio') && !el.checked) continue;
    if (el.type === 'submit' || el.type === 'button' || el.type === 'reset' || el.tagName === 'FIELDSET') continue;
    if (el.tagName === 'SELECT' && el.multiple) {
      for (const opt of el.selectedOptions) data.append(name, opt.value);
      continue;
    }
    const value = el.value;
    if ((name === 'collaborator' || name === 'parent') && /\n/.test(value)) {
      // One per line in a textarea.
      for (const line of value.split('\n').map((l) => l.trim()).filter(Boolean)) data.append(name, line);
      continue;
    }
    if ((name === 'collaborator' || name === 'parent') && !value.trim()) continue;
    data.append(name, value);
  }
  for (const file of readme) data.append('readme', file, file.name);
  for (const file of files) data.append('file', file, file.webkitRelativePath || file.name);
  return data;
}

/** POSTs the form with XMLHttpRequest so the upload's progress can be shown. */
function upload(url, body, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('x-csrf-token', config().csrf || '');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      if (!progress || !e.lengthComputable) return;
      progress.max = e.total;
      progress.value = e.loaded;
      progress.textContent = `${Math.round((100 * e.loaded) / e.total)}%`;
    };
    xhr.upload.onload = () => {
      if (progress) progress.value = progress.max;
    };
    xhr.onload = () => {
      let json = null;
      try {
        json = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        json = null;
      }
      resolve({ status: xhr.status, json });
    };
    xhr.onerror = () => reject(new Error('The upload failed: the node could not be reached'));
    xhr.onabort = () => reject(new Error('The upload was stopped'));
    xhr.send(body);
  });
}

const ASSET_PUBLISHED = wallet.keccak256(
  'AssetPublished(uint256,address,uint8,bool,string,(uint256,uint16)[])',
);

/** The new asset's id from the publish receipts: the AssetPublished log's first indexed topic. */
function assetIdFrom(receipts, answer) {
  const topic0 = (answer?.asset_event || answer?.tx?.asset_event || ASSET_PUBLISHED).toLowerCase();
  const market = (config().marketplace || '').toLowerCase();
  const logs = receipts.flatMap((r) => r.logs || []);
  let log = logs.find((l) => l.topics?.[0]?.toLowerCase() === topic0);
  log ||= logs.find((l) => l.address?.toLowerCase() === market && l.topics?.length > 1);
  return log ? BigInt(log.topics[1]).toString() : null;
}

async function waitForAsset(id, view) {
  view.message(`Published as asset ${id}: waiting for the node to index it…`, 'pending');
  for (let i = 0; i < 120; i++) {
    const res = await fetch(`/api/assets/${id}`, { headers: { accept: 'application/json' } });
    if (res.ok) return true;
    await wallet.sleep(500);
  }
  return false;
}

/**
 * Uploads a multipart `body` to `route` (the form's progress bar follows), signs the key deposit the node
 * answers with, and sends the prepared transaction: `{json, receipts}`, or null when the node refused the form
 * (each bad field marked beside it).
 */
async function uploadAndSend(form, route, body, status, account) {
  const view = statusView(status);
  const progress = form.querySelector('progress');
  if (progress) {
    progress.hidden = false;
    progress.value = 0;
  }
  // The node takes uploads only from an account: sign in with Ethereum first (once per tab and account), and
  // again if the node no longer knows the session (it restarted, or the session ended).
  view.message('Sign in with your wallet: uploads are signed by an account…', 'pending');
  await wallet.signIn();
  view.message('Uploading…', 'pending');
  let { status: code, json } = await upload(route, body, progress);
  if (code === 401 && ['no_session', 'session_expired', 'unsigned_upload'].includes(json?.error?.code)) {
    view.message('Your session ended: sign in again in your wallet…', 'pending');
    await wallet.signIn({ force: true });
    view.message('Uploading…', 'pending');
    ({ status: code, json } = await upload(route, body, progress));
  }
  if (code === 422 && json?.error?.code === 'invalid_fields') {
    const unplaced = showFieldErrors(form, json.error.fields);
    view.message([json.error.message || 'Some fields need fixing.', ...unplaced].join(' '), 'failed');
    return null;
  }
  if (code < 200 || code >= 300) {
    view.message(json?.error?.message || `The node answered ${code}.`, 'failed');
    return null;
  }
  if (json.deposit) {
    view.message('Sign the key deposit in your wallet (it lets the gateway serve your buyers)…', 'pending');
    const signature = await signTyped(account, json.deposit.typed_data);
    await postJson('/access/keys', { ...json.deposit.body, signature });
  }
  const receipts = await sendSteps(json.tx?.steps || json.steps || [], status);
  return { json, receipts };
}

/** Runs a form's submit handler with its status, its submit button busy, and any failure shown. */
function onSubmit(form, handler) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const status = statusFor(form);
    const submit = form.querySelector('[type=submit]');
    clearFieldErrors(form);
    busy(submit, true);
    try {
      const account = await needAccount(status);
      if (account) await handler(account, status, statusView(status));
    } catch (err) {
      if (!status?.querySelector('.tx-failed')) statusView(status).message(explain(err), 'failed');
    } finally {
      busy(submit, false);
    }
  });
}

// "Sign in" beside what a page shows only to accounts with access (an encrypted proposal's diff): sign in with
// Ethereum at the node's access gateway, then reload so the page renders as the signed-in account.
function bindSignIn() {
  for (const button of $$('button.js-signin')) {
    button.addEventListener('click', async () => {
      const status = statusFor(button);
      busy(button, true);
      try {
        if (!(await needAccount(status))) return;
        await wallet.signIn({ force: true });
        location.reload();
      } catch (err) {
        statusView(status).message(explain(err), 'failed');
      } finally {
        busy(button, false);
      }
    });
  }
}

function bindPublish() {
  const form = $('form#publish-form');
  if (!form) return;
  onSubmit(form, async (account, status, view) => {
    const done = await uploadAndSend(form, '/api/publish', publishBody(form, account), status, account);
    if (!done) return;
    const { json, receipts } = done;
    const id = json.asset ?? json.tx?.asset ?? assetIdFrom(receipts, json);
    if (id == null) {
      view.message('Published, but the receipt named no asset: find it on your dashboard.', 'confirmed');
      return;
    }
    if (await waitForAsset(id, view)) location.assign(`/assets/${id}`);
    else view.message(`Published as asset ${id}; the node has not indexed it yet: reload in a moment.`, 'pending');
  });
}

// The proposals page's form (templates/proposals.html): the fields, then the files, to /api/propose; for an
// encrypted asset the node encrypts the files under a fresh key, which the wallet signs over to the gateway.
function bindPropose() {
  const form = $('form#propose-form');
  if (!form) return;
  onSubmit(form, async (account, status, view) => {
    const asset = form.dataset.asset;
    const body = new FormData();
    body.append('account', account);
    body.append('asset', asset);
    body.append('shares', form.elements.shares.value);
    body.append('message', form.elements.message.value);
    for (const file of form.elements.file.files) body.append('file', file, file.name);
    const done = await uploadAndSend(form, '/api/propose', body, status, account);
    if (!done) return;
    view.message('Proposed: waiting for the node to list it…', 'pending');
    for (let i = 0; i < 120; i++) {
      const listed = await fetchJson(`/api/assets/${encodeURIComponent(asset)}/proposals`).catch(() => []);
      if (listed.some((p) => p.content_cid === done.json.content_cid)) {
        location.reload();
        return;
      }
      await wallet.sleep(500);
    }
    view.message('Proposed; the node has not listed it yet: reload in a moment.', 'pending');
  });
}

// ------------------------------------------------------------------------------------------------ discussions

// The Discussion sections (templates/discussion.html): the form and Reply buttons appear with this script, the
// Hide buttons only to the asset's owner. A comment is signed in the wallet (eth_signTypedData_v4 over the typed
// data the node hands out), posted, and the section is loaded again from /assets/{id}/discussion.

function commentStatus(section) {
  return statusView(section?.querySelector('.comment-status'));
}

function showDiscussionControls() {
  const account = (wallet.state.account || '').toLowerCase();
  for (const section of $$('.js-discussion')) {
    const form = $('form.js-comment', section);
    if (form) form.hidden = false;
    for (const b of $$('button.js-reply', section)) b.hidden = false;
    const owner = (section.dataset.owner || '').toLowerCase();
    for (const b of $$('button.js-hide', section)) b.hidden = !account || account !== owner;
  }
}

async function reloadDiscussion(section) {
  const proposal = Number(section.dataset.proposal || 0);
  const query = proposal ? `?proposal=${encodeURIComponent(proposal)}` : '';
  const res = await fetch(`/assets/${encodeURIComponent(section.dataset.asset)}/discussion${query}`, {
    credentials: 'same-origin',
    headers: { accept: 'text/html' },
  });
  if (!res.ok) throw new Error(`The node answered ${res.status} for the discussion: reload the page`);
  const template = document.createElement('template');
  template.innerHTML = await res.text();
  const fresh = template.content.querySelector('.js-discussion');
  if (!fresh) throw new Error('The node sent no discussion: reload the page');
  section.replaceWith(fresh);
  showDiscussionControls();
  return fresh;
}

async function signTyped(account, typed) {
  return wallet.request('eth_signTypedData_v4', [account, typeof typed === 'string' ? typed : JSON.stringify(typed)]);
}

function setReplying(form, cid) {
  const parent = form.querySelector('input[name=parent]');
  const note = form.querySelector('.js-replying');
  parent.value = cid || '';
  if (note) {
    note.hidden = !cid;
    const to = note.querySelector('.js-replying-to');
    if (to) to.textContent = cid || '';
  }
}

function bindDiscussions() {
  document.addEventListener('submit', async (event) => {
    const form = event.target.closest?.('form.js-comment');
    if (!form) return;
    event.preventDefault();
    const section = form.closest('.js-discussion');
    const view = commentStatus(section);
    const submit = form.querySelector('[type=submit]');
    busy(submit, true);
    try {
      const account = await needAccount(section.querySelector('.comment-status'));
      if (!account) return;
      view.message('Preparing the comment…', 'pending');
      const prepared = await postJson('/api/comments/typed-data', {
        author: account,
        asset: idValue(form.dataset.asset),
        proposal: idValue(form.dataset.proposal || 0),
        parent: form.querySelector('input[name=parent]')?.value || '',
        body: form.querySelector('textarea[name=body]')?.value || '',
      });
      view.message('Sign the comment in your wallet…', 'pending');
      const signature = await signTyped(account, prepared.typed_data);
      const posted = await postJson('/api/comments', { ...prepared.document, signature });
      const fresh = await reloadDiscussion(section);
      commentStatus(fresh).message('Posted: your signed comment is stored.', 'confirmed');
      fresh.querySelector(`[data-cid="${CSS.escape(posted.cid)}"]`)?.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      view.message(explain(err), 'failed');
    } finally {
      busy(submit, false);
    }
  });
  document.addEventListener('click', async (event) => {
    const target = event.target;
    const reply = target.closest?.('button.js-reply');
    const cancel = target.closest?.('button.js-cancel-reply');
    const hide = target.closest?.('button.js-hide');
    if (!reply && !cancel && !hide) return;
    const section = target.closest('.js-discussion');
    const form = section?.querySelector('form.js-comment');
    if (reply && form) {
      setReplying(form, reply.dataset.cid);
      form.querySelector('textarea')?.focus();
      return;
    }
    if (cancel && form) {
      setReplying(form, '');
      return;
    }
    if (!hide) return;
    const view = commentStatus(section);
    busy(hide, true);
    try {
      const account = await needAccount(section.querySelector('.comment-status'));
      if (!account) return;
      const cid = hide.dataset.cid;
      const hidden = parseBool(hide.dataset.hidden);
      view.message(hidden ? 'Hiding the comment…' : 'Showing the comment again…', 'pending');
      const prepared = await postJson(`/api/comments/${encodeURIComponent(cid)}/hide/typed-data`, { owner: account, hidden });
      view.message('Sign the decision in your wallet…', 'pending');
      const signature = await signTyped(account, prepared.typed_data);
      await postJson(`/api/comments/${encodeURIComponent(cid)}/hide`, { ...prepared.document, signature });
      const fresh = await reloadDiscussion(section);
      commentStatus(fresh).message(hidden ? 'Hidden: the comment is folded, still stored and verifiable.' : 'Shown again.', 'confirmed');
    } catch (err) {
      view.message(explain(err), 'failed');
    } finally {
      busy(hide, false);
    }
  });
}

// ------------------------------------------------------------------------------------------------ start

wallet.onChange((state) => {
  showAccount(state);
  refreshAccess();
  showDiscussionControls();
});
bindConnect();
bindBuy();
bindWithdraw();
bindProposals();
bindDownloads();
bindPublish();
bindPropose();
bindSignIn();
bindDiscussions();
showDiscussionControls();
showAccount(wallet.state);
refreshAccess();

let restoring = true;
wallet.restore().finally(() => {
  restoring = false;
  if (onDashboard && wallet.state.account && !new URLSearchParams(location.search).get('account')) {
    goToDashboard(wallet.state.account);
  }
});

// Another account chosen in the wallet while on the dashboard: show that account's dashboard.
let lastAccount = null;
wallet.onChange((state) => {
  if (restoring) {
    lastAccount = state.account;
    return;
  }
  if (onDashboard && state.account && lastAccount && state.account !== lastAccount) goToDashboard(state.account);
  lastAccount = state.account;
});

document.documentElement.dataset.app = 'ready';
