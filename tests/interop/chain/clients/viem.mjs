// The interop scenario with viem: `node clients/viem.mjs RPC_URL` prints what a viem user observes as JSON.
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseEventLogs,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { compileCounter } from "../lib/compile.cjs";
import { addr, dec, emit, rpcUrl, scenario, status, txType } from "../lib/scenario.cjs";

const url = rpcUrl();
const { abi, bytecode } = compileCounter();
const transport = http(url);
const publicClient = createPublicClient({ transport, pollingInterval: 50 });
const chainId = await publicClient.getChainId();
const chain = defineChain({
  id: chainId,
  name: "interop",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [url] } },
});
const account = privateKeyToAccount(scenario.senderKey);
const wallet = createWalletClient({ account, chain, transport, pollingInterval: 50 });
const client = createPublicClient({ chain, transport, pollingInterval: 50 });

const receiptView = (r) => ({
  status: status(r.status),
  type: txType(r.type),
  from: addr(r.from),
  to: addr(r.to),
  contractAddress: addr(r.contractAddress),
  blockNumber: dec(r.blockNumber),
  transactionIndex: r.transactionIndex,
  gasUsed: dec(r.gasUsed),
  cumulativeGasUsed: dec(r.cumulativeGasUsed),
  effectiveGasPrice: dec(r.effectiveGasPrice),
  logCount: r.logs.length,
});
const eventView = (e) => ({
  event: e.eventName,
  address: addr(e.address),
  by: addr(e.args.by),
  amount: dec(e.args.amount),
  total: dec(e.args.total),
  blockNumber: dec(e.blockNumber),
  logIndex: e.logIndex,
  transactionIndex: e.transactionIndex,
});
// A revert the client could not decode is recorded with its message, so the comparison shows it.
const revertView = (err) => {
  if (!(err instanceof BaseError)) throw err;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (!reverted?.data) return { undecoded: err.shortMessage };
  return { error: reverted.data.errorName, args: (reverted.data.args ?? []).map(dec) };
};

const out = { client: "viem", chainId };
out.startBlock = dec(await client.getBlockNumber());
const senderBefore = await client.getBalance({ address: scenario.sender });
out.balancesBefore = {
  sender: dec(senderBefore),
  other: dec(await client.getBalance({ address: scenario.otherAccount })),
  recipient: dec(await client.getBalance({ address: scenario.recipient })),
};
out.nonceBefore = await client.getTransactionCount({ address: scenario.sender });

// A plain ETH transfer.
const transferHash = await wallet.sendTransaction({ to: scenario.recipient, value: scenario.transferWei });
const transfer = await client.waitForTransactionReceipt({ hash: transferHash, pollingInterval: 50 });
const senderAfter = await client.getBalance({ address: scenario.sender });
out.transfer = {
  receipt: receiptView(transfer),
  recipientBalance: dec(await client.getBalance({ address: scenario.recipient })),
  senderPaidValuePlusFee: senderBefore - senderAfter === scenario.transferWei + transfer.gasUsed * transfer.effectiveGasPrice,
};

// Deploy the contract compiled above.
const deployHash = await wallet.deployContract({ abi, bytecode, args: [scenario.counterStart] });
const deploy = await client.waitForTransactionReceipt({ hash: deployHash, pollingInterval: 50 });
const counter = deploy.contractAddress;
const code = await client.getCode({ address: counter });
out.deploy = { receipt: receiptView(deploy), codeBytes: (code.length - 2) / 2 };

// Calls.
const read = (functionName, args = []) => client.readContract({ address: counter, abi, functionName, args });
out.read = { total: dec(await read("total")), owner: addr(await read("owner")), limit: dec(await read("LIMIT")) };

// Estimate, simulate and send a state change; its event from the receipt.
const gas = await client.estimateContractGas({ address: counter, abi, functionName: "add", args: [scenario.addAmount], account });
const { result, request } = await client.simulateContract({ address: counter, abi, functionName: "add", args: [scenario.addAmount], account });
const addHash = await wallet.writeContract({ ...request, gas });
const added = await client.waitForTransactionReceipt({ hash: addHash, pollingInterval: 50 });
out.add = {
  simulated: dec(result),
  receipt: receiptView(added),
  estimateCoversGasUsed: gas >= added.gasUsed,
  events: parseEventLogs({ abi, logs: added.logs }).map(eventView),
  totalAfter: dec(await read("total")),
};

// The transaction and its block as the client reads them back; state at past blocks.
const tx = await client.getTransaction({ hash: addHash });
out.transaction = {
  from: addr(tx.from),
  to: addr(tx.to),
  nonce: tx.nonce,
  value: dec(tx.value),
  gas: dec(tx.gas),
  type: txType(tx.type),
  chainId: tx.chainId,
  input: tx.input,
  blockNumber: dec(tx.blockNumber),
  transactionIndex: tx.transactionIndex,
  inBlockOfReceipt: tx.blockHash === added.blockHash,
};
const block = await client.getBlock({ blockNumber: added.blockNumber });
const parent = await client.getBlock({ blockNumber: added.blockNumber - 1n });
out.block = {
  number: dec(block.number),
  gasUsed: dec(block.gasUsed),
  gasLimit: dec(block.gasLimit),
  baseFeePerGas: dec(block.baseFeePerGas),
  transactions: block.transactions.length,
  containsTransaction: block.transactions.includes(addHash),
  parentIsPreviousBlock: block.parentHash === parent.hash,
  timestampNotBeforeParent: block.timestamp >= parent.timestamp,
};
out.history = {
  recipientAtBlock0: dec(await client.getBalance({ address: scenario.recipient, blockNumber: 0n })),
  recipientAtBlock1: dec(await client.getBalance({ address: scenario.recipient, blockNumber: 1n })),
  nonceAtBlock1: await client.getTransactionCount({ address: scenario.sender, blockNumber: 1n }),
  totalAtDeployBlock: dec(
    await client.readContract({ address: counter, abi, functionName: "total", blockNumber: deploy.blockNumber }),
  ),
};
const fees = await client.estimateFeesPerGas();
out.fees = { maxFeePerGas: dec(fees.maxFeePerGas), maxPriorityFeePerGas: dec(fees.maxPriorityFeePerGas) };

// Logs by query: by address and event, and by topic (indexed `by` = sender).
out.logs = {
  byEvent: (await client.getContractEvents({ address: counter, abi, eventName: "Added", fromBlock: 0n, toBlock: "latest" })).map(eventView),
  bySender: (
    await client.getContractEvents({ address: counter, abi, eventName: "Added", args: { by: scenario.sender }, fromBlock: 0n })
  ).length,
  byBlockHash: (await client.getLogs({ blockHash: added.blockHash })).length,
  byOther: (
    await client.getContractEvents({ address: counter, abi, eventName: "Added", args: { by: scenario.otherAccount }, fromBlock: 0n })
  ).length,
};

// A custom-error revert, seen through a call and through gas estimation.
const tooLarge = { address: counter, abi, functionName: "add", args: [scenario.tooLarge], account };
out.revert = {
  call: await client.simulateContract(tooLarge).then(() => "no revert", revertView),
  estimate: await client.estimateContractGas(tooLarge).then(() => "no revert", revertView),
};

out.end = {
  blockNumber: dec(await client.getBlockNumber()),
  nonce: await client.getTransactionCount({ address: scenario.sender }),
  recipientBalance: dec(await client.getBalance({ address: scenario.recipient })),
};
emit(out);
