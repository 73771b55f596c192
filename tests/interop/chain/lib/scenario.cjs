// The one scenario every client script plays, and the helpers that turn each library's own types into the same
// plain JSON: numbers as decimal strings, addresses in lower case, no hashes, no times.
"use strict";

const scenario = {
  // Account 0 and 1 of the "test test ... junk" mnemonic (m/44'/60'/0'/0/0 and /1): public dev keys.
  senderKey: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  sender: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
  otherAccount: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
  // A fresh address with no history, so its balance is exactly what the scenario sent it.
  recipient: "0x000000000000000000000000000000000000beef",
  transferWei: 1_500_000_000_000_000_000n, // 1.5 ETH
  counterStart: 7n,
  addAmount: 5n,
  tooLarge: 1000n,
};

/** A bigint / number / numeric string as a decimal string. */
function dec(value) {
  if (value === null || value === undefined) return null;
  return BigInt(value).toString(10);
}

/** An address in lower case (or null). */
function addr(value) {
  return value === null || value === undefined ? null : String(value).toLowerCase();
}

/** Receipt `status` as "success" / "reverted" whatever the library made of it (1n, 1, "0x1", "success"). */
function status(value) {
  if (value === "success" || value === "reverted") return value;
  return BigInt(value) === 1n ? "success" : "reverted";
}

/** Transaction type as the JSON-RPC number, whatever the library made of it ("eip1559", 2, 2n, "0x2"). */
function txType(value) {
  const names = { legacy: 0, eip2930: 1, eip1559: 2, eip4844: 3, eip7702: 4 };
  if (typeof value === "string" && value in names) return names[value];
  return Number(BigInt(value));
}

/** Prints the result object as JSON on stdout (bigints as decimal strings) and exits. */
function emit(result) {
  process.stdout.write(`${JSON.stringify(result, (_k, v) => (typeof v === "bigint" ? v.toString(10) : v), 2)}\n`);
}

/** The RPC URL from argv, or a usage error. */
function rpcUrl() {
  const url = process.argv[2];
  if (!url) {
    process.stderr.write(`usage: node ${process.argv[1]} RPC_URL\n`);
    process.exit(2);
  }
  return url;
}

module.exports = { scenario, dec, addr, status, txType, emit, rpcUrl };
