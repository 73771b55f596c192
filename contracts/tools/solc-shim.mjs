// Serves the pinned solcjs (contracts/node_modules/solc) as a `solc` command for tools that want a native
// binary (slither through crytic-compile): `solc --version` and `solc --standard-json` (input on stdin).
// Other flags (--allow-paths, --base-path, ...) are accepted and ignored; imports resolve against the
// working directory, contracts/ and contracts/node_modules.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import solc from "solc";

const contractsDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);

if (args.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  process.stderr.write("solc-shim: only --version and --standard-json are supported\n");
  process.exit(2);
}

function findFile(path) {
  for (const base of [process.cwd(), contractsDir, join(contractsDir, "node_modules")]) {
    const candidate = resolve(base, path);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

const input = JSON.parse(readFileSync(0, "utf8"));
for (const [name, source] of Object.entries(input.sources ?? {})) {
  if (source.content === undefined) {
    const file = findFile(source.urls?.[0] ?? name);
    if (file) input.sources[name] = { content: readFileSync(file, "utf8") };
  }
}
const findImports = (path) => {
  const file = findFile(path);
  return file ? { contents: readFileSync(file, "utf8") } : { error: `solc-shim: ${path} not found` };
};
process.stdout.write(solc.compile(JSON.stringify(input), { import: findImports }));
