// The dev wallet, served only by `scal3ml dev`: an EIP-1193 provider announced through EIP-6963 that signs as one
// of the dev chain's ten public test accounts, by passing JSON-RPC to POST /dev/rpc on this node. Their keys are
// published with every Ethereum dev tool: it exists so a newcomer can try the marketplace without a wallet.

const INFO = Object.freeze({
  uuid: 'b3a5f1d2-6c1e-4c7e-9a55-5ca13d3e7a11',
  name: 'Scal3ML dev wallet (test accounts)',
  rdns: 'dev.scal3ml.devwallet',
  icon:
    'data:image/svg+xml,' +
    encodeURIComponent(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#7a3b00"/>' +
        '<text x="16" y="21" font-family="sans-serif" font-size="12" font-weight="700" fill="#fff" text-anchor="middle">DEV</text></svg>',
    ),
});
const ACCOUNT_KEY = 'scal3ml.devwallet.account';

function csrf() {
  try {
    return JSON.parse(document.getElementById('scal3ml-config')?.textContent || '{}').csrf || '';
  } catch {
    return '';
  }
}

function rpcError(message, code, data) {
  const err = new Error(message);
  err.code = code;
  if (data !== undefined) err.data = data;
  return err;
}

let nextId = 1;
async function rpc(method, params = []) {
  let res;
  try {
    res = await fetch('/dev/rpc', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf() },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    });
  } catch (e) {
    throw rpcError(`The dev chain could not be reached: ${e.message}`, 4900);
  }
  let body;
  try {
    body = await res.json();
  } catch {
    throw rpcError(`The dev chain answered ${res.status} without JSON`, -32603);
  }
  if (body.error) throw rpcError(body.error.message || 'JSON-RPC error', body.error.code ?? -32603, body.error.data);
  if (!res.ok) throw rpcError(`The dev chain answered ${res.status}`, -32603);
  return body.result;
}

const handlers = { accountsChanged: new Set(), chainChanged: new Set(), connect: new Set(), disconnect: new Set() };
function fire(event, value) {
  for (const fn of handlers[event] || []) {
    try {
      fn(value);
    } catch (e) {
      console.error(e);
    }
  }
}

let account = null;
try {
  account = localStorage.getItem(ACCOUNT_KEY);
} catch {
  account = null;
}

function pick(accounts) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const dialog = document.createElement('dialog');
    dialog.className = 'wallet-chooser devwallet';
    dialog.setAttribute('aria-labelledby', 'devwallet-title');
    dialog.setAttribute('aria-describedby', 'devwallet-warning');
    const title = document.createElement('h2');
    title.id = 'devwallet-title';
    title.textContent = 'Dev wallet: choose a test account';
    const warning = document.createElement('p');
    warning.id = 'devwallet-warning';
    warning.className = 'devwallet-warning';
    warning.textContent =
      'These are the dev chain\u2019s public test accounts: anyone knows their keys. Use them only on this local chain, never with real funds.';
    const list = document.createElement('ul');
    list.className = 'wallet-list';
    let focus = null;
    accounts.forEach((address, i) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'wallet-option devwallet-account';
      button.dataset.account = address;
      const label = document.createElement('span');
      label.textContent = `Test account ${i}`;
      const code = document.createElement('code');
      code.textContent = address;
      button.append(label, document.createTextNode(' '), code);
      button.addEventListener('click', () => finish(address));
      li.append(button);
      list.append(li);
      if (!focus || (account && address.toLowerCase() === account.toLowerCase())) focus = button;
    });
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'wallet-cancel';
    cancel.textContent = 'Cancel';
    cancel.addEventListener('click', () => finish(null));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish(null);
    });
    dialog.append(title, warning, list, cancel);
    let done = false;
    function finish(choice) {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      opener?.focus?.();
      resolve(choice);
    }
    document.body.append(dialog);
    dialog.showModal();
    focus?.focus();
  });
}

function choose(address) {
  account = address;
  try {
    localStorage.setItem(ACCOUNT_KEY, address);
  } catch {
    // Storage disabled: the account is chosen for this page only.
  }
  fire('accountsChanged', [address]);
}

const provider = {
  isScal3mlDevWallet: true,
  async request({ method, params } = {}) {
    switch (method) {
      case 'eth_requestAccounts': {
        const accounts = await rpc('eth_accounts');
        const chosen = await pick(accounts);
        if (!chosen) throw rpcError('You closed the dev wallet without choosing an account.', 4001);
        choose(chosen);
        return [chosen];
      }
      case 'eth_accounts':
        return account ? [account] : [];
      case 'wallet_switchEthereumChain': {
        const want = parseInt(params?.[0]?.chainId, 16);
        const have = parseInt(await rpc('eth_chainId'), 16);
        if (want === have) return null;
        throw rpcError(`The dev wallet only knows the dev chain (${have}).`, 4902);
      }
      case 'wallet_addEthereumChain':
        throw rpcError('The dev wallet only knows the dev chain.', 4200);
      case 'wallet_requestPermissions':
      case 'wallet_getPermissions':
        return account ? [{ parentCapability: 'eth_accounts' }] : [];
      case 'eth_sendTransaction': {
        if (!account) throw rpcError('Choose a dev account first (connect).', 4100);
        const tx = { ...(params?.[0] || {}) };
        tx.from ||= account;
        if (tx.from.toLowerCase() !== account.toLowerCase()) {
          throw rpcError(`The dev wallet is signing as ${account}, not ${tx.from}.`, 4100);
        }
        return rpc('eth_sendTransaction', [tx]);
      }
      case 'personal_sign':
      case 'eth_signTypedData_v4':
      case 'eth_sign':
        if (!account) throw rpcError('Choose a dev account first (connect).', 4100);
        return rpc(method, params || []);
      default:
        return rpc(method, params || []);
    }
  },
  on(event, fn) {
    handlers[event]?.add(fn);
    return provider;
  },
  removeListener(event, fn) {
    handlers[event]?.delete(fn);
    return provider;
  },
};

function announce() {
  window.dispatchEvent(
    new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info: INFO, provider }) }),
  );
}

window.addEventListener('eip6963:requestProvider', announce);
announce();
