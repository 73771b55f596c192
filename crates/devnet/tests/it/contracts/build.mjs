// Compiles Probe.sol with solcjs into Probe.json (ABI + creation bytecode), the artifact the Rust tests load.
// Usage: node build.mjs /path/to/node_modules/solc   (solc 0.8.37 from npm; tests/interop/chain installs it).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const solc = createRequire(import.meta.url)(process.argv[2] ?? "solc");
const input = {
  language: "Solidity",
  sources: { "Probe.sol": { content: readFileSync(join(here, "Probe.sol"), "utf8") } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "prague",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const probe = output.contracts["Probe.sol"].Probe;
const artifact = { compiler: `solc ${solc.version()}`, abi: probe.abi, bytecode: "0x" + probe.evm.bytecode.object };
writeFileSync(join(here, "Probe.json"), JSON.stringify(artifact, null, 2) + "\n");
console.log(`wrote Probe.json with ${solc.version()}`);
