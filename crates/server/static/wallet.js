// The page's side of the wallet: EIP-6963 discovery (window.ethereum as the fallback), connecting, the chain
// check, Sign-In with Ethereum (EIP-4361) and sending the server's prepared transactions. No third-party code:
// the page's Content-Security-Policy allows only our own scripts. See docs/web.md.

const STORAGE_KEY = 'scal3ml.wallet';
const DISCOVERY_MS = 400;
const RECEIPT_POLL_MS = 1000;
const RECEIPT_TIMEOUT_MS = 10 * 60 * 1000;

/** The page's configuration: `<script type="application/json" id="scal3ml-config">`. */
export function config() {
  if (!config.value) {
    const el = document.getElementById('scal3ml-config');
    let parsed = {};
    try {
      parsed = el ? JSON.parse(el.textContent) : {};
    } catch (e) {
      console.error('scal3ml: the page configuration is not JSON', e);
    }
    config.value = parsed;
  }
  return config.value;
}

/** An error to show to the person: `message` is a sentence, `code` the EIP-1193 code when there is one. */
export class WalletError extends Error {
  constructor(message, code, cause) {
    super(message);
    this.name = 'WalletError';
    this.code = code;
    this.cause = cause;
  }
}

/** Turns whatever a wallet or fetch threw into a sentence. */
export function explain(err) {
  if (!err) return 'Something went wrong.';
  const code = err.code ?? err.cause?.code;
  if (code === 4001) return 'You rejected the request in your wallet.';
  if (code === 4100) return 'The wallet has not authorised this site: connect it first.';
  if (code === 4200) return 'The wallet does not support this request.';
  if (code === 4900 || code === 4901) return 'The wallet is not connected to the chain.';
  if (code === -32002) return 'Your wallet already has a request waiting: open it to answer.';
  if (err instanceof WalletError) return err.message;
  const msg = err.message || String(err);
  return msg.endsWith('.') ? msg : msg + '.';
}

// ------------------------------------------------------------------------------------------------ discovery

const announced = new Map(); // uuid -> {info, provider}

function onAnnounce(event) {
  const detail = event.detail;
  if (!detail || !detail.info || !detail.provider || typeof detail.provider.request !== 'function') return;
  const { uuid } = detail.info;
  if (!uuid) return;
  announced.set(uuid, { info: detail.info, provider: detail.provider });
}

window.addEventListener('eip6963:announceProvider', onAnnounce);

function requestProviders() {
  window.dispatchEvent(new Event('eip6963:requestProvider'));
}
requestProviders();

function legacyWallet() {
  const eth = window.ethereum;
  if (!eth || typeof eth.request !== 'function') return null;
  // A legacy injected provider that also announced itself is already in the list.
  for (const w of announced.values()) if (w.provider === eth) return null;
  const name = eth.isMetaMask ? 'MetaMask' : eth.isCoinbaseWallet ? 'Coinbase Wallet' : 'Browser wallet';
  return { info: { uuid: 'window.ethereum', name, icon: '', rdns: 'window.ethereum' }, provider: eth };
}

/** The wallets in this browser, after giving them a moment to answer an EIP-6963 request. */
export async function discover(waitMs = DISCOVERY_MS) {
  requestProviders();
  if (announced.size === 0) await sleep(waitMs);
  const list = [...announced.values()];
  const legacy = legacyWallet();
  if (legacy) list.push(legacy);
  return list;
}

// ------------------------------------------------------------------------------------------------ state

/** The connected wallet: `{info, provider, account, chainId}`; fields are null before connecting. */
export const state = { info: null, provider: null, account: null, chainId: null };
const listeners = new Set();

/** Calls `fn(state)` whenever the account or the chain changes (and once the wallet connects). */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit() {
  for (const fn of listeners) {
    try {
      fn(state);
    } catch (e) {
      console.error(e);
    }
  }
}

let subscribed = null;
function subscribe(provider) {
  if (subscribed === provider || typeof provider.on !== 'function') return;
  if (subscribed && typeof subscribed.removeListener === 'function') {
    subscribed.removeListener('accountsChanged', onAccountsChanged);
    subscribed.removeListener('chainChanged', onChainChanged);
  }
  provider.on('accountsChanged', onAccountsChanged);
  provider.on('chainChanged', onChainChanged);
  subscribed = provider;
}

function onAccountsChanged(accounts) {
  state.account = Array.isArray(accounts) && accounts.length ? checksum(accounts[0]) : null;
  if (!state.account) forgetSession();
  emit();
}

function onChainChanged(chainId) {
  state.chainId = typeof chainId === 'string' ? parseInt(chainId, 16) : Number(chainId);
  emit();
}

/** A JSON-RPC request through the connected wallet. */
export async function request(method, params) {
  if (!state.provider) throw new WalletError('Connect a wallet first.');
  const args = params === undefined ? { method } : { method, params };
  return state.provider.request(args);
}

function remembered() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function remember(rdns) {
  try {
    localStorage.setItem(STORAGE_KEY, rdns);
  } catch {
    // Private mode or storage disabled: the chooser will just ask again next time.
  }
}

function use(wallet) {
  state.info = wallet.info;
  state.provider = wallet.provider;
  subscribe(wallet.provider);
}

/**
 * Reconnects without a prompt to the wallet chosen before, if it still knows this site (`eth_accounts`).
 * Returns the account or null.
 */
let restoring = null;
export function restore() {
  restoring ||= restoreOnce();
  return restoring;
}

async function restoreOnce() {
  const rdns = remembered();
  if (!rdns) return null;
  const wallets = await discover();
  const wallet = wallets.find((w) => w.info.rdns === rdns);
  if (!wallet) return null;
  try {
    const accounts = await wallet.provider.request({ method: 'eth_accounts' });
    if (!Array.isArray(accounts) || accounts.length === 0) return null;
    use(wallet);
    state.account = checksum(accounts[0]);
    state.chainId = parseInt(await wallet.provider.request({ method: 'eth_chainId' }), 16);
    emit();
    return state.account;
  } catch {
    return null;
  }
}

/**
 * Connects: finds the wallets, lets the person choose when there are several, asks for the account and makes
 * sure the wallet is on this node's chain. Returns the account.
 */
export async function connect({ switchChain = true } = {}) {
  if (restoring) await restoring;
  if (state.provider && state.account) {
    if (switchChain) await ensureChain();
    return state.account;
  }
  const wallets = await discover();
  if (wallets.length === 0) {
    throw new WalletError(
      'No wallet found in this browser: install a wallet extension (any that supports EIP-6963 or window.ethereum) and reload the page.',
    );
  }
  const rdns = remembered();
  let wallet = wallets.length === 1 ? wallets[0] : wallets.find((w) => rdns && w.info.rdns === rdns);
  if (!wallet) {
    wallet = await choose(wallets, rdns);
    if (!wallet) throw new WalletError('No wallet chosen.');
  }
  use(wallet);
  const accounts = await request('eth_requestAccounts');
  if (!Array.isArray(accounts) || accounts.length === 0) throw new WalletError('The wallet gave no account.');
  state.account = checksum(accounts[0]);
  state.chainId = parseInt(await request('eth_chainId'), 16);
  remember(wallet.info.rdns);
  emit();
  if (switchChain) await ensureChain();
  return state.account;
}

/** Forgets the connection on this page (wallets have no standard way to be disconnected). */
export function disconnect() {
  restoring = null;
  state.info = state.provider = state.account = state.chainId = null;
  try {
    localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing remembered.
  }
  forgetSession();
  emit();
}

/** Makes sure the wallet is on the node's chain: switch, and add the chain when the wallet does not know it. */
export async function ensureChain() {
  const cfg = config();
  const want = Number(cfg.chain_id);
  if (!want) return;
  const current = parseInt(await request('eth_chainId'), 16);
  state.chainId = current;
  if (current === want) return;
  const chainId = '0x' + want.toString(16);
  try {
    await request('wallet_switchEthereumChain', [{ chainId }]);
  } catch (err) {
    const code = err?.code ?? err?.data?.originalError?.code;
    if (code !== 4902) {
      if (code === 4001) throw new WalletError(`This page works on ${chainLabel(cfg)}: you declined to switch.`, 4001, err);
      throw new WalletError(`Switch your wallet to ${chainLabel(cfg)} (it is on chain ${current}).`, code, err);
    }
    const params = {
      chainId,
      chainName: cfg.chain_name || `Chain ${want}`,
      rpcUrls: [cfg.rpc_url],
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    };
    if (cfg.explorer) params.blockExplorerUrls = [cfg.explorer];
    await request('wallet_addEthereumChain', [params]);
  }
  const now = parseInt(await request('eth_chainId'), 16);
  state.chainId = now;
  emit();
  if (now !== want) throw new WalletError(`Switch your wallet to ${chainLabel(cfg)} (it is on chain ${now}).`);
}

function chainLabel(cfg) {
  return `${cfg.chain_name || 'chain'} (chain id ${cfg.chain_id})`;
}

// ------------------------------------------------------------------------------------------------ chooser

/** Asks which wallet to use; resolves with one of `wallets` or null. Buttons in a modal dialog. */
export function choose(wallets, preferred) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const dialog = document.createElement('dialog');
    dialog.className = 'wallet-chooser';
    dialog.setAttribute('aria-labelledby', 'wallet-chooser-title');
    const title = document.createElement('h2');
    title.id = 'wallet-chooser-title';
    title.textContent = 'Choose a wallet';
    dialog.append(title);
    const list = document.createElement('ul');
    list.className = 'wallet-list';
    let first = null;
    for (const w of wallets) {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'wallet-option';
      button.dataset.rdns = w.info.rdns || '';
      if (isSafeIcon(w.info.icon)) {
        const img = document.createElement('img');
        img.src = w.info.icon;
        img.alt = '';
        img.width = 24;
        img.height = 24;
        button.append(img);
      }
      const name = document.createElement('span');
      name.textContent = w.info.name || w.info.rdns || 'Wallet';
      button.append(name);
      button.addEventListener('click', () => finish(w));
      li.append(button);
      list.append(li);
      if (!first || (preferred && w.info.rdns === preferred)) first = button;
    }
    dialog.append(list);
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'wallet-cancel';
    cancel.textContent = 'Cancel';
    cancel.addEventListener('click', () => finish(null));
    dialog.append(cancel);
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish(null);
    });
    let done = false;
    function finish(choice) {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      if (opener && typeof opener.focus === 'function') opener.focus();
      resolve(choice);
    }
    document.body.append(dialog);
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    first?.focus();
  });
}

function isSafeIcon(icon) {
  return typeof icon === 'string' && /^data:image\/(svg\+xml|png|webp|gif|jpeg)[;,]/.test(icon);
}

// ------------------------------------------------------------------------------------------------ Sign-In with Ethereum

const SESSION_KEY = 'scal3ml.session';

function sessionFor(account) {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (s && s.account?.toLowerCase() === account.toLowerCase() && s.expires_at * 1000 > Date.now() + 60_000) return s;
  } catch {
    // No session remembered.
  }
  return null;
}

function forgetSession() {
  try {
    sessionStorage.removeItem(SESSION_KEY);
  } catch {
    // Nothing remembered.
  }
}

/** The node's base URL without a trailing slash (the page's origin when the config has none). */
export function nodeUrl() {
  return (config().node_url || location.origin).replace(/\/+$/, '');
}

/** The EIP-4361 message the gateway accepts (crates/access/src/siwe.rs): domain = the node's host and port. */
export function siweMessage({ account, chainId, nonce, issuedAt = new Date(), ttlSeconds = 3600 }) {
  const base = nodeUrl();
  const domain = new URL(base).host;
  const expires = new Date(issuedAt.getTime() + ttlSeconds * 1000);
  return [
    `${domain} wants you to sign in with your Ethereum account:`,
    checksum(account),
    '',
    'Sign in to upload, and to download the assets your account holds a license for.',
    '',
    `URI: ${base}/access`,
    'Version: 1',
    `Chain ID: ${chainId}`,
    `Nonce: ${nonce}`,
    `Issued At: ${issuedAt.toISOString()}`,
    `Expiration Time: ${expires.toISOString()}`,
  ].join('\n');
}

/** Signs in with Ethereum unless this tab already has a session for the account; the gateway sets the cookie. */
export async function signIn({ force = false } = {}) {
  const account = await connect();
  if (!force && sessionFor(account)) return sessionFor(account);
  const cfg = config();
  const nonceReply = await fetchJson(`${nodeUrl()}/access/nonce`, { credentials: 'same-origin' });
  const message = siweMessage({ account, chainId: Number(cfg.chain_id), nonce: nonceReply.nonce });
  const signature = await request('personal_sign', [utf8Hex(message), account]);
  const reply = await postJson(`${nodeUrl()}/access/siwe`, { message, signature });
  const session = { account, expires_at: reply.expires_at || Math.floor(Date.now() / 1000) + 3600 };
  try {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  } catch {
    // The cookie is what counts; this only saves a signature next time.
  }
  return session;
}

// ------------------------------------------------------------------------------------------------ HTTP

/** Headers every POST from a page carries. */
export function postHeaders(extra = {}) {
  return { 'x-csrf-token': config().csrf || '', ...extra };
}

/** GET a JSON answer; a non-2xx answer throws its `error.message`. */
export async function fetchJson(url, init = {}) {
  const res = await fetch(url, { credentials: 'same-origin', ...init, headers: { accept: 'application/json', ...(init.headers || {}) } });
  return readJson(res);
}

/** POST a JSON body with the CSRF header. */
export async function postJson(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: postHeaders({ 'content-type': 'application/json', accept: 'application/json' }),
    body: JSON.stringify(body),
  });
  return readJson(res);
}

async function readJson(res) {
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = body?.error;
    const err = new WalletError(e?.message || `The node answered ${res.status} ${res.statusText}`.trim());
    err.status = res.status;
    err.body = body;
    err.apiCode = e?.code;
    throw err;
  }
  return body;
}

// ------------------------------------------------------------------------------------------------ transactions

/**
 * Sends prepared steps (`[{label, to, data, value}]`) in order from the connected account, showing each one's
 * state in `statusEl` (a `.tx-status`). Resolves with the receipts; throws on the first failure.
 */
export async function sendSteps(steps, statusEl) {
  const account = await connect();
  const receipts = [];
  const status = statusView(statusEl);
  status.clear();
  for (const [i, step] of (steps || []).entries()) {
    const label = step.label || `Transaction ${i + 1} of ${steps.length}`;
    const line = status.line(label, 'Confirm in your wallet…', 'waiting');
    let hash;
    try {
      const tx = { from: account, to: step.to };
      if (step.data && step.data !== '0x') tx.data = step.data;
      if (step.value && !/^0x0*$/.test(step.value)) tx.value = step.value;
      hash = await request('eth_sendTransaction', [tx]);
    } catch (err) {
      line.set(explain(err), 'failed');
      throw err instanceof WalletError ? err : new WalletError(explain(err), err?.code, err);
    }
    line.set('Pending', 'pending', hash);
    const receipt = await waitForReceipt(hash);
    receipts.push(receipt);
    if (receipt.status !== '0x1' && receipt.status !== 1 && receipt.status !== '0x01') {
      line.set('Failed (the transaction reverted)', 'failed', hash);
      throw new WalletError(`${label}: the transaction failed on the chain.`);
    }
    line.set('Confirmed', 'confirmed', hash);
  }
  return receipts;
}

/** Polls the wallet for a receipt. */
export async function waitForReceipt(hash) {
  const started = Date.now();
  for (;;) {
    let receipt = null;
    try {
      receipt = await request('eth_getTransactionReceipt', [hash]);
    } catch (err) {
      // A wallet that cannot answer right now: try again until the deadline.
      if (err?.code === 4001) throw err;
    }
    if (receipt && receipt.blockNumber) return receipt;
    if (Date.now() - started > RECEIPT_TIMEOUT_MS) {
      throw new WalletError(`No receipt for ${hash} after ten minutes: check the transaction in your wallet.`);
    }
    await sleep(RECEIPT_POLL_MS);
  }
}

/** Writes into a `.tx-status` element: a message, or one line per transaction. */
export function statusView(el) {
  const noop = { clear() {}, message() {}, line: () => ({ set() {} }) };
  if (!el) return noop;
  return {
    clear() {
      el.replaceChildren();
      el.dataset.state = '';
    },
    message(text, kind = 'info') {
      el.replaceChildren();
      const p = document.createElement('p');
      p.className = `tx-message tx-${kind}`;
      p.textContent = text;
      el.append(p);
      el.dataset.state = kind;
    },
    line(label, text, kind) {
      let list = el.querySelector('ol.tx-steps');
      if (!list) {
        el.replaceChildren();
        list = document.createElement('ol');
        list.className = 'tx-steps';
        el.append(list);
      }
      const li = document.createElement('li');
      list.append(li);
      const set = (text, kind, hash) => {
        li.className = `tx-step tx-${kind}`;
        li.dataset.state = kind;
        el.dataset.state = kind;
        li.replaceChildren();
        const strong = document.createElement('strong');
        strong.textContent = `${label}: `;
        li.append(strong, document.createTextNode(text));
        if (hash) {
          li.dataset.hash = hash;
          li.append(document.createTextNode(' '));
          const explorer = (config().explorer || '').replace(/\/+$/, '');
          const code = document.createElement('code');
          code.className = 'tx-hash';
          code.textContent = hash;
          if (explorer) {
            const a = document.createElement('a');
            a.href = `${explorer}/tx/${hash}`;
            a.rel = 'noopener';
            a.target = '_blank';
            a.append(code);
            a.setAttribute('aria-label', `transaction ${hash} in the explorer`);
            li.append(a);
          } else {
            li.append(code);
          }
        }
      };
      set(text, kind);
      return { set };
    },
  };
}

// ------------------------------------------------------------------------------------------------ encoding

/** Hex of the UTF-8 bytes, as personal_sign takes them. */
export function utf8Hex(text) {
  return bytesHex(new TextEncoder().encode(text));
}

function bytesHex(bytes) {
  let out = '0x';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** EIP-55 mixed-case checksum of an address (returns the input unchanged when it is not an address). */
export function checksum(address) {
  if (typeof address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(address)) return address;
  const lower = address.slice(2).toLowerCase();
  const hash = keccak256(new TextEncoder().encode(lower)).slice(2);
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(hash[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  return out;
}

const MASK = (1n << 64n) - 1n;
const RC = [
  0x0000000000000001n, 0x0000000000008082n, 0x800000000000808an, 0x8000000080008000n, 0x000000000000808bn,
  0x0000000080000001n, 0x8000000080008081n, 0x8000000000008009n, 0x000000000000008an, 0x0000000000000088n,
  0x0000000080008009n, 0x000000008000000an, 0x000000008000808bn, 0x800000000000008bn, 0x8000000000008089n,
  0x8000000000008003n, 0x8000000000008002n, 0x8000000000000080n, 0x000000000000800an, 0x800000008000000an,
  0x8000000080008081n, 0x8000000000008080n, 0x0000000080000001n, 0x8000000080008008n,
];
const ROTC = [1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44];
const PILN = [10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1];

const rotl = (x, n) => ((x << BigInt(n)) | (x >> BigInt(64 - n))) & MASK;

function keccakF(st) {
  const bc = new Array(5);
  for (let round = 0; round < 24; round++) {
    for (let i = 0; i < 5; i++) bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
    for (let i = 0; i < 5; i++) {
      const t = bc[(i + 4) % 5] ^ rotl(bc[(i + 1) % 5], 1);
      for (let j = 0; j < 25; j += 5) st[j + i] ^= t;
    }
    let t = st[1];
    for (let i = 0; i < 24; i++) {
      const j = PILN[i];
      const saved = st[j];
      st[j] = rotl(t, ROTC[i]);
      t = saved;
    }
    for (let j = 0; j < 25; j += 5) {
      for (let i = 0; i < 5; i++) bc[i] = st[j + i];
      for (let i = 0; i < 5; i++) st[j + i] ^= ~bc[(i + 1) % 5] & MASK & bc[(i + 2) % 5];
    }
    st[0] ^= RC[round];
  }
}

/** Keccak-256 (Ethereum's, not SHA3-256) of bytes or a string, as 0x-hex. For checksums and event topics. */
export function keccak256(input) {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const rate = 136;
  const padded = new Uint8Array(Math.ceil((bytes.length + 1) / rate) * rate);
  padded.set(bytes);
  padded[bytes.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  const st = new Array(25).fill(0n);
  for (let off = 0; off < padded.length; off += rate) {
    for (let i = 0; i < rate / 8; i++) {
      let lane = 0n;
      for (let b = 7; b >= 0; b--) lane = (lane << 8n) | BigInt(padded[off + i * 8 + b]);
      st[i] ^= lane;
    }
    keccakF(st);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 4; i++) {
    let lane = st[i];
    for (let b = 0; b < 8; b++) {
      out[i * 8 + b] = Number(lane & 0xffn);
      lane >>= 8n;
    }
  }
  return bytesHex(out);
}

/** A short form of an address for display: 0x1234…abcd. */
export function shortAddress(address) {
  return typeof address === 'string' && address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
