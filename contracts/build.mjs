// Compiles src/**/*.sol with the pinned solcjs (package-lock.json) and writes out/ deterministically:
//   out/<Contract>.json  ABI, creation and runtime bytecode (hardhat-style artifact that alloy's sol! reads)
//   out/build-info.json  compiler version, settings, and the sha256 of every source unit compiled
// Same sources + same lock file => the same bytes. scripts/suites/10-contracts.sh checks that.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const root = dirname(fileURLToPath(import.meta.url));
const outDir = join(root, "out");

// Chosen for Sepolia, Arbitrum and Neon EVM alike: see docs/contracts.md ("EVM version").
export const settings = {
  evmVersion: "shanghai",
  optimizer: { enabled: true, runs: 200 },
  metadata: { bytecodeHash: "none" },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};

function solFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? solFiles(join(dir, e.name)) : e.name.endsWith(".sol") ? [join(dir, e.name)] : []))
    .sort();
}

const sources = {};
for (const file of solFiles(join(root, "src"))) {
  sources[relative(root, file).split("\\").join("/")] = { content: readFileSync(file, "utf8") };
}

const loaded = {};
function findImports(path) {
  try {
    const content = readFileSync(join(root, "node_modules", path), "utf8");
    loaded[path] = content;
    return { contents: content };
  } catch {
    return { error: `import ${path} not found: run npm ci in contracts/` };
  }
}

const input = { language: "Solidity", sources, settings };
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const problems = (output.errors ?? []).filter((e) => e.severity === "error" || e.type === "Warning");
for (const e of problems) console.error(e.formattedMessage);
if (problems.some((e) => e.severity === "error")) process.exit(1);
if (problems.length > 0) {
  console.error("build.mjs: compiler warnings are treated as errors; fix them");
  process.exit(1);
}

const sha256 = (text) => "0x" + createHash("sha256").update(text).digest("hex");
const sorted = (obj) => Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
const write = (name, value) => writeFileSync(join(outDir, name), JSON.stringify(value, null, 2) + "\n");

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const contracts = [];
for (const sourceName of Object.keys(sources)) {
  for (const [contractName, c] of Object.entries(output.contracts[sourceName] ?? {})) {
    if (c.evm.bytecode.object.length === 0) continue; // interfaces and abstract contracts
    contracts.push(contractName);
    write(`${contractName}.json`, {
      contractName,
      sourceName,
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    });
  }
}
const allSources = { ...Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, v.content])), ...loaded };
write("build-info.json", {
  compiler: { name: "solc (solcjs)", version: solc.version() },
  settings,
  contracts: contracts.sort(),
  sources: sorted(Object.fromEntries(Object.entries(allSources).map(([k, v]) => [k, { sha256: sha256(v) }]))),
});
console.error(`build.mjs: wrote ${contracts.length} contracts to out/ with solc ${solc.version()}`);
