// Starts the nodes the interop tests and the benchmark talk to, each on its own 127.0.0.1 port, and stops them:
// hardhat node (the reference), ganache, and the Scal3ML devnet (`scal3ml devnet --port 0`).
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(here, "..", "..", "..");
export const MNEMONIC = "test test test test test test test test test test test junk";

/** A port that was free a moment ago on 127.0.0.1 (hardhat and ganache cannot bind port 0 and tell us). */
export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** One JSON-RPC call over HTTP; resolves to the result or rejects with the node's error. */
export async function rpc(url, method, params = []) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw Object.assign(new Error(`${method}: ${body.error.message}`), { rpcError: body.error });
  return body.result;
}

/** The scal3ml binary: $SCAL3ML_BIN, else target/release/scal3ml under $CARGO_TARGET_DIR or the repo. */
export function scal3mlBinary() {
  if (process.env.SCAL3ML_BIN) return process.env.SCAL3ML_BIN;
  const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(repo, "target");
  return join(target, "release", "scal3ml");
}

function spawnNode(name, command, args, env = {}) {
  const child = spawn(command, args, {
    cwd: here,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise((ok) => child.once("exit", (code, signal) => ok({ code, signal })));
  return { name, child, exited, output: () => output };
}

/** Waits until `url` answers eth_chainId, or fails with the node's output if it exits or takes too long. */
async function waitReady(proc, urlOf, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  proc.exited.then((how) => {
    exited = how;
  });
  for (;;) {
    if (exited) throw new Error(`${proc.name} exited (${JSON.stringify(exited)}) before answering:\n${proc.output()}`);
    const url = urlOf();
    if (url) {
      try {
        await rpc(url, "eth_chainId");
        return url;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) {
      proc.child.kill("SIGKILL");
      throw new Error(`${proc.name} did not answer eth_chainId within ${timeoutMs} ms:\n${proc.output()}`);
    }
    await new Promise((ok) => setTimeout(ok, 25));
  }
}

function handle(proc, url) {
  return {
    name: proc.name,
    url,
    pid: proc.child.pid,
    output: proc.output,
    async stop() {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGTERM");
      const timer = setTimeout(() => proc.child.kill("SIGKILL"), 5000);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}

/** `hardhat node` on a free port, with the accounts and chain id of hardhat.config.js; no telemetry, no compiler. */
export async function startHardhat({ timeoutMs = 60_000 } = {}) {
  const port = await freePort();
  const cli = join(here, "node_modules", "hardhat", "internal", "cli", "bootstrap.js");
  const proc = spawnNode("hardhat", process.execPath, [cli, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    HARDHAT_DISABLE_TELEMETRY_PROMPT: "true",
  });
  const url = `http://127.0.0.1:${port}`;
  return handle(proc, await waitReady(proc, () => url, timeoutMs));
}

/** ganache 7 on a free port with the same chain id, mnemonic, account count and balance as the devnet. */
export async function startGanache({ timeoutMs = 60_000 } = {}) {
  const port = await freePort();
  const cli = join(here, "node_modules", "ganache", "dist", "node", "cli.js");
  const proc = spawnNode("ganache", process.execPath, [
    cli,
    "--server.host", "127.0.0.1",
    "--server.port", String(port),
    "--chain.chainId", "31337",
    "--wallet.mnemonic", MNEMONIC,
    "--wallet.totalAccounts", "10",
    "--wallet.defaultBalance", "10000",
    "--logging.quiet",
  ]);
  const url = `http://127.0.0.1:${port}`;
  return handle(proc, await waitReady(proc, () => url, timeoutMs));
}

/** `scal3ml devnet --port 0`; the bound address is read from its stdout line `Listening on HOST:PORT`. */
export async function startDevnet({ timeoutMs = 30_000, args = [] } = {}) {
  const bin = scal3mlBinary();
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: build it with \`cargo build --release -p scal3ml\` or set SCAL3ML_BIN`);
  }
  const proc = spawnNode("scal3ml devnet", bin, ["devnet", "--port", "0", ...args]);
  const urlOf = () => {
    const match = proc.output().match(/^Listening on (\S+):(\d+)\s*$/m);
    return match && match[2] !== "0" ? `http://${match[1]}:${match[2]}` : null;
  };
  return handle(proc, await waitReady(proc, urlOf, timeoutMs));
}

/** Starts a node by name: "hardhat", "ganache" or "devnet". */
export function startNode(name, options) {
  const start = { hardhat: startHardhat, ganache: startGanache, devnet: startDevnet }[name];
  if (!start) throw new Error(`unknown node "${name}": use hardhat, ganache or devnet`);
  return start(options);
}
