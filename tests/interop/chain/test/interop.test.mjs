// Each client (viem, ethers v6, web3.js v4) plays the same scenario against hardhat node, the reference, and
// against the Scal3ML devnet, each started fresh; what the client observes must be the same on both (the
// scripts already leave out hashes and times). INTEROP_NODE=ganache compares ganache instead of the devnet.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { here, startNode } from "../lib/nodes.mjs";

const run = promisify(execFile);
const candidate = process.env.INTEROP_NODE ?? "devnet";

/** Runs one client script against `url` and returns its JSON, or fails with the script's stderr. */
async function scenario(client, node) {
  try {
    const { stdout } = await run(process.execPath, [join(here, "clients", `${client}.mjs`), node.url], {
      cwd: here,
      timeout: 120_000,
      maxBuffer: 16 << 20,
    });
    return JSON.parse(stdout);
  } catch (err) {
    throw new Error(`${client} against ${node.name} (${node.url}) failed:\n${err.stderr ?? err.message}`);
  }
}

/** Leaf paths of a JSON value: { "a.b.0": leaf }. */
function flatten(value, prefix = "", into = {}) {
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 0) into[prefix] = Array.isArray(value) ? [] : {};
    for (const key of keys) flatten(value[key], prefix ? `${prefix}.${key}` : key, into);
  } else {
    into[prefix] = value;
  }
  return into;
}

/** Every leaf where the two results differ, as "path: candidate X, hardhat Y". */
function differences(actual, expected) {
  const a = flatten(actual);
  const e = flatten(expected);
  const paths = [...new Set([...Object.keys(e), ...Object.keys(a)])].filter((p) => p !== "client");
  return paths
    .filter((p) => JSON.stringify(a[p]) !== JSON.stringify(e[p]))
    .map((p) => `${p}: ${candidate} ${JSON.stringify(a[p])}, hardhat ${JSON.stringify(e[p])}`);
}

for (const client of ["viem", "ethers", "web3"]) {
  test(`${client}: ${candidate} answers like hardhat node`, { timeout: 300_000 }, async () => {
    const reference = await startNode("hardhat");
    let expected;
    try {
      expected = await scenario(client, reference);
    } finally {
      await reference.stop();
    }
    // The reference run itself shows the scenario did what it says (so an equality below means something).
    assert.equal(expected.chainId, 31337);
    assert.equal(expected.transfer.recipientBalance, "1500000000000000000");
    assert.equal(expected.add.totalAfter, "12");
    assert.deepEqual(expected.revert.call, { error: "TooLarge", args: ["1000", "100"] });

    const ours = await startNode(candidate);
    let actual;
    try {
      actual = await scenario(client, ours);
    } finally {
      await ours.stop();
    }
    assert.deepStrictEqual(differences(actual, expected), [], `${client} observes differences between ${candidate} and hardhat node`);
  });
}
