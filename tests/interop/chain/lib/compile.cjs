// Compiles contracts/Counter.sol with solcjs (the npm `solc` package: the compiler built to JavaScript, no download)
// and returns its ABI and creation bytecode. EVM version shanghai so that ganache 7 runs the code too.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const solc = require("solc");

function compileCounter() {
  const file = path.join(__dirname, "..", "contracts", "Counter.sol");
  const input = {
    language: "Solidity",
    sources: { "Counter.sol": { content: fs.readFileSync(file, "utf8") } },
    settings: {
      evmVersion: "shanghai",
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    throw new Error(`solc failed to compile Counter.sol:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  }
  const counter = output.contracts["Counter.sol"].Counter;
  return { abi: counter.abi, bytecode: `0x${counter.evm.bytecode.object}`, solcVersion: solc.version() };
}

module.exports = { compileCounter };
