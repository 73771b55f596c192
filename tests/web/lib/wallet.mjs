// An EIP-1193 test wallet injected into every page of a browser context: the page side (an init script) defines
// the provider, announces it through EIP-6963 and sets window.ethereum, exactly where a real wallet extension
// would; each request crosses `context.exposeBinding` into Node, which answers the account and chain methods
// itself and forwards the rest to the dev chain's JSON-RPC, whose unlocked dev accounts sign
// (eth_sendTransaction, personal_sign, eth_signTypedData_v4).

import { rpc } from './node.mjs';

export const TEST_WALLET = { name: 'Test wallet', rdns: 'org.scal3ml.testwallet' };

/**
 * Installs the wallet into `context`, signing as `account` on the chain behind `rpcUrl`. Options:
 * `startChainId` (the chain the wallet says it is on first; another id exercises switch and add),
 * `reject` (methods the "user" rejects with 4001, once each unless `rejectAlways`).
 * Returns a handle: `calls` (every method asked, in order), `added` (wallet_addEthereumChain params),
 * `signed` (the signing requests answered, `{method, params}`), `setAccount(page, address)`, `reject(method)`,
 * `hold(method)` (the next such request waits, as a person who has not yet clicked Confirm: returns
 * `{reached, release()}`, `reached` resolving when the page asks).
 */
export async function installWallet(context, { rpcUrl, account, chainId, startChainId, reject = [], rejectAlways = false }) {
  const state = {
    account,
    chainId: startChainId ?? chainId,
    known: new Set([startChainId ?? chainId]),
    rejects: new Set(reject),
    calls: [],
    added: [],
    signed: [],
    holds: new Map(),
  };
  const fail = (code, message) => ({ error: { code, message } });

  await context.exposeBinding('__scal3mlTestWallet', async (_source, { method, params }) => {
    state.calls.push(method);
    const held = state.holds.get(method);
    if (held) {
      state.holds.delete(method);
      held.reached();
      await held.gate;
    }
    if (state.rejects.has(method)) {
      if (!rejectAlways) state.rejects.delete(method);
      return fail(4001, 'User rejected the request.');
    }
    const hex = (n) => '0x' + n.toString(16);
    try {
      switch (method) {
        case 'eth_requestAccounts':
        case 'eth_accounts':
          return { result: [state.account.toLowerCase()] };
        case 'eth_chainId':
          return { result: hex(state.chainId) };
        case 'net_version':
          return { result: String(state.chainId) };
        case 'wallet_switchEthereumChain': {
          const want = parseInt(params[0].chainId, 16);
          if (!state.known.has(want)) return fail(4902, `Unrecognized chain ID ${params[0].chainId}.`);
          state.chainId = want;
          return { result: null, event: ['chainChanged', hex(want)] };
        }
        case 'wallet_addEthereumChain': {
          const p = params[0];
          state.added.push(p);
          const want = parseInt(p.chainId, 16);
          // A real wallet checks the RPC answers the chain id it was given.
          const real = parseInt(await rpc(p.rpcUrls[0], 'eth_chainId'), 16);
          if (real !== want) return fail(-32603, `the RPC at ${p.rpcUrls[0]} is chain ${real}, not ${want}`);
          state.known.add(want);
          state.chainId = want;
          return { result: null, event: ['chainChanged', hex(want)] };
        }
        case 'eth_sendTransaction':
        case 'personal_sign':
        case 'eth_signTypedData_v4': {
          if (state.chainId !== chainId) return fail(4901, 'The wallet is on another chain.');
          const from = method === 'personal_sign' ? params[1] : params[0]?.from ?? params[0];
          if (String(from).toLowerCase() !== state.account.toLowerCase()) {
            return fail(4100, `The wallet holds ${state.account}, not ${from}.`);
          }
          state.signed.push({ method, params });
          return { result: await rpc(rpcUrl, method, params) };
        }
        default:
          return { result: await rpc(rpcUrl, method, params ?? []) };
      }
    } catch (e) {
      return fail(e.code ?? -32603, e.message);
    }
  });

  await context.addInitScript((info) => {
    const listeners = new Map();
    const emit = (event, value) => {
      for (const fn of listeners.get(event) || []) {
        try {
          fn(value);
        } catch (e) {
          console.error(e);
        }
      }
    };
    const provider = {
      isScal3mlTestWallet: true,
      async request({ method, params } = {}) {
        const answer = await window.__scal3mlTestWallet({ method, params: params ?? [] });
        if (answer.error) {
          const err = new Error(answer.error.message);
          err.code = answer.error.code;
          throw err;
        }
        if (answer.event) setTimeout(() => emit(answer.event[0], answer.event[1]), 0);
        return answer.result;
      },
      on(event, fn) {
        if (!listeners.has(event)) listeners.set(event, new Set());
        listeners.get(event).add(fn);
        return provider;
      },
      removeListener(event, fn) {
        listeners.get(event)?.delete(fn);
        return provider;
      },
    };
    Object.defineProperty(window, '__testWalletEmit', { value: emit });
    const icon =
      'data:image/svg+xml,' +
      encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4" fill="#2a6"/></svg>');
    const detail = Object.freeze({
      info: Object.freeze({ uuid: '6f1c2b9e-0d5a-4c3e-8f61-3a7e1b2c9d40', name: info.name, icon, rdns: info.rdns }),
      provider,
    });
    const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail }));
    window.addEventListener('eip6963:requestProvider', announce);
    window.ethereum = provider;
    announce();
  }, TEST_WALLET);

  return {
    state,
    get calls() {
      return state.calls;
    },
    get added() {
      return state.added;
    },
    /** The wallet's user picks another account: the page hears accountsChanged. */
    async setAccount(page, address) {
      state.account = address;
      await page.evaluate((a) => window.__testWalletEmit('accountsChanged', [a.toLowerCase()]), address);
    },
    get signed() {
      return state.signed;
    },
    reject(method) {
      state.rejects.add(method);
    },
    hold(method) {
      let release;
      let reached;
      const gate = new Promise((ok) => (release = ok));
      const asked = new Promise((ok) => (reached = ok));
      const entry = { gate, reached };
      state.holds.set(method, entry);
      return {
        reached: asked,
        release() {
          if (state.holds.get(method) === entry) state.holds.delete(method);
          release();
        },
      };
    },
  };
}
