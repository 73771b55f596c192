// Starts the built `scal3ml dev` in a temporary data directory on free ports, waits for its `Listening on` line
// (as crates/cli/tests/it/common.rs does) and stops it. Also: JSON-RPC to the dev chain, the CLI against the node.

import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '../../..');
export const BIN = process.env.SCAL3ML_BIN || join(process.env.CARGO_TARGET_DIR || join(root, 'target'), 'debug/scal3ml');

/** A free TCP port on 127.0.0.1 (bound and released; the node binds it again at once). */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/**
 * `scal3ml dev --fresh` on free ports. Resolves with `{url, rpcUrl, accounts: [{address, key}], marketplace, attestations,
 * usdx (the test ERC-20's address), banner, stop()}`.
 */
export async function startDev() {
  const dataDir = mkdtempSync(join(tmpdir(), 'scal3ml-web-'));
  const port = await freePort();
  const rpcPort = await freePort();
  const args = ['dev', '--fresh', '--data-dir', dataDir, '--port', String(port), '--rpc-port', String(rpcPort)];
  const child = spawn(BIN, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  const stderr = [];
  child.stderr.on('data', (d) => {
    stderr.push(d);
    if (process.env.SCAL3ML_WEB_VERBOSE) process.stderr.write(d);
  });
  const lines = createInterface({ input: child.stdout });
  let banner = '';
  const ready = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`scal3ml dev did not start in 120 s:\n${banner}`)), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`scal3ml ${args.join(' ')} exited (${code}) before listening:\n${banner}\n${Buffer.concat(stderr)}`));
    });
    lines.on('line', (line) => {
      banner += line + '\n';
      const m = line.trim().match(/^Listening on (\S+)$/);
      if (m) {
        clearTimeout(timer);
        ok(`http://${m[1]}`);
      }
    });
  });
  const url = await ready;
  const rpcUrl = banner.match(/Chain JSON-RPC\s+(\S+)/)?.[1] || `http://127.0.0.1:${rpcPort}`;
  const marketplace = banner.match(/Marketplace\s+(0x[0-9a-fA-F]{40})/)?.[1];
  const attestations = banner.match(/Attestations\s+(0x[0-9a-fA-F]{40})/)?.[1];
  const usdx = banner.match(/^\s*USDX\b.*?(0x[0-9a-fA-F]{40})/m)?.[1];
  const accounts = [...banner.matchAll(/^\s*\((\d+)\)\s+(0x[0-9a-fA-F]{40})\s+(0x[0-9a-fA-F]{64})/gm)].map((m) => ({
    address: m[2],
    key: m[3],
  }));
  let stopped = false;
  async function stop() {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null) {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { url, rpcUrl, accounts, marketplace, attestations, usdx, banner, dataDir, stop, stderr: () => Buffer.concat(stderr).toString() };
}

let rpcId = 1;
/** One JSON-RPC call; throws the error object (with `code`) on a JSON-RPC error. */
export async function rpc(url, method, params = []) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: rpcId++, method, params }),
  });
  const body = await res.json();
  if (body.error) {
    const err = new Error(`${method}: ${body.error.message}`);
    err.code = body.error.code;
    err.data = body.error.data;
    throw err;
  }
  return body.result;
}

/**
 * Sends `tx` with eth_sendTransaction from one of the chain's unlocked dev accounts (as a script would, not
 * through a page) and resolves with the receipt once mined; throws when it reverted.
 */
export async function transact(url, tx) {
  const hash = await rpc(url, 'eth_sendTransaction', [tx]);
  const receipt = await until(`the receipt of ${hash}`, () => rpc(url, 'eth_getTransactionReceipt', [hash]), 30_000, 100);
  if (BigInt(receipt.status) !== 1n) throw new Error(`${hash} reverted`);
  return receipt;
}

const execFileP = promisify(execFile);
/** `scal3ml ARGS --json` against the node; resolves with the parsed JSON. */
export async function cli(nodeUrl, args) {
  const env = { ...process.env, SCAL3ML_NODE: nodeUrl };
  delete env.SCAL3ML_PRIVATE_KEY;
  const { stdout } = await execFileP(BIN, [...args, '--json'], {
    env,
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout);
}

/** Polls `fn` until it returns a truthy value; throws with `what` after `ms`. */
export async function until(what, fn, ms = 15_000, every = 200) {
  const started = Date.now();
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what} (last: ${last?.message ?? last})`);
    await new Promise((r) => setTimeout(r, every));
  }
}
