// The interop scenario with ethers v6: `node clients/ethers.mjs RPC_URL` prints what an ethers user observes as JSON.
import { ContractFactory, JsonRpcProvider, Wallet, isCallException } from "ethers";
import { compileCounter } from "../lib/compile.cjs";
import { addr, dec, emit, rpcUrl, scenario, status, txType } from "../lib/scenario.cjs";

const url = rpcUrl();
const { abi, bytecode } = compileCounter();
// No response cache: the scenario reads the same thing before and after a change.
const provider = new JsonRpcProvider(url, undefined, { cacheTimeout: -1, pollingInterval: 50 });
const wallet = new Wallet(scenario.senderKey, provider);

const receiptView = (r, type) => ({
  status: status(r.status),
  type: txType(type),
  from: addr(r.from),
  to: addr(r.to),
  contractAddress: addr(r.contractAddress),
  blockNumber: dec(r.blockNumber),
  transactionIndex: r.index,
  gasUsed: dec(r.gasUsed),
  cumulativeGasUsed: dec(r.cumulativeGasUsed),
  effectiveGasPrice: dec(r.gasPrice),
  logCount: r.logs.length,
});
const eventView = (log, parsed) => ({
  event: parsed.name,
  address: addr(log.address),
  by: addr(parsed.args.by),
  amount: dec(parsed.args.amount),
  total: dec(parsed.args.total),
  blockNumber: dec(log.blockNumber),
  logIndex: log.index,
  transactionIndex: log.transactionIndex,
});
// ethers decodes the revert of a contract call itself (err.revert); for a gas estimate the user decodes err.data
// with the contract's interface. A revert it could not decode is recorded with its message.
const revertView = (iface) => (err) => {
  if (!isCallException(err)) throw err;
  const revert = err.revert ?? (err.data ? iface.parseError(err.data) : null);
  if (!revert) return { undecoded: err.shortMessage };
  return { error: revert.name, args: revert.args.map(dec) };
};

const out = { client: "ethers" };
out.chainId = Number((await provider.getNetwork()).chainId);
out.startBlock = dec(await provider.getBlockNumber());
const senderBefore = await provider.getBalance(scenario.sender);
out.balancesBefore = {
  sender: dec(senderBefore),
  other: dec(await provider.getBalance(scenario.otherAccount)),
  recipient: dec(await provider.getBalance(scenario.recipient)),
};
out.nonceBefore = await provider.getTransactionCount(scenario.sender);

// A plain ETH transfer.
const transferTx = await wallet.sendTransaction({ to: scenario.recipient, value: scenario.transferWei });
const transfer = await transferTx.wait();
const senderAfter = await provider.getBalance(scenario.sender);
out.transfer = {
  receipt: receiptView(transfer, transferTx.type),
  recipientBalance: dec(await provider.getBalance(scenario.recipient)),
  senderPaidValuePlusFee: senderBefore - senderAfter === scenario.transferWei + transfer.fee,
};

// Deploy the contract compiled above.
const factory = new ContractFactory(abi, bytecode, wallet);
const deployed = await factory.deploy(scenario.counterStart);
await deployed.waitForDeployment();
const deployTx = deployed.deploymentTransaction();
const deploy = await deployTx.wait();
const counter = await deployed.getAddress();
const code = await provider.getCode(counter);
out.deploy = { receipt: receiptView(deploy, deployTx.type), codeBytes: (code.length - 2) / 2 };

// Calls.
out.read = {
  total: dec(await deployed.total()),
  owner: addr(await deployed.owner()),
  limit: dec(await deployed.LIMIT()),
};

// Estimate, simulate and send a state change; its event from the receipt.
const gas = await deployed.add.estimateGas(scenario.addAmount);
const simulated = await deployed.add.staticCall(scenario.addAmount);
const addTx = await deployed.add(scenario.addAmount, { gasLimit: gas });
const added = await addTx.wait();
out.add = {
  simulated: dec(simulated),
  receipt: receiptView(added, addTx.type),
  estimateCoversGasUsed: gas >= added.gasUsed,
  events: added.logs.map((log) => eventView(log, deployed.interface.parseLog(log))),
  totalAfter: dec(await deployed.total()),
};

// The transaction and its block as the client reads them back; state at past blocks.
const tx = await provider.getTransaction(addTx.hash);
out.transaction = {
  from: addr(tx.from),
  to: addr(tx.to),
  nonce: tx.nonce,
  value: dec(tx.value),
  gas: dec(tx.gasLimit),
  type: txType(tx.type),
  chainId: Number(tx.chainId),
  input: tx.data,
  blockNumber: dec(tx.blockNumber),
  transactionIndex: tx.index,
  inBlockOfReceipt: tx.blockHash === added.blockHash,
};
const block = await provider.getBlock(added.blockNumber);
const parent = await provider.getBlock(added.blockNumber - 1);
out.block = {
  number: dec(block.number),
  gasUsed: dec(block.gasUsed),
  gasLimit: dec(block.gasLimit),
  baseFeePerGas: dec(block.baseFeePerGas),
  transactions: block.transactions.length,
  containsTransaction: block.transactions.includes(addTx.hash),
  parentIsPreviousBlock: block.parentHash === parent.hash,
  timestampNotBeforeParent: block.timestamp >= parent.timestamp,
};
out.history = {
  recipientAtBlock0: dec(await provider.getBalance(scenario.recipient, 0)),
  recipientAtBlock1: dec(await provider.getBalance(scenario.recipient, 1)),
  nonceAtBlock1: await provider.getTransactionCount(scenario.sender, 1),
  totalAtDeployBlock: dec(await deployed.total({ blockTag: deploy.blockNumber })),
};
const fees = await provider.getFeeData();
out.fees = {
  gasPrice: dec(fees.gasPrice),
  maxFeePerGas: dec(fees.maxFeePerGas),
  maxPriorityFeePerGas: dec(fees.maxPriorityFeePerGas),
};

// Logs by query: by address and event, and by topic (indexed `by`).
out.logs = {
  byEvent: (await deployed.queryFilter("Added", 0, "latest")).map((e) => eventView(e, deployed.interface.parseLog(e))),
  bySender: (await deployed.queryFilter(deployed.filters.Added(scenario.sender), 0)).length,
  byBlockHash: (await provider.getLogs({ blockHash: added.blockHash })).length,
  byOther: (await deployed.queryFilter(deployed.filters.Added(scenario.otherAccount), 0)).length,
};

// A custom-error revert, seen through a call and through gas estimation.
out.revert = {
  call: await deployed.add.staticCall(scenario.tooLarge).then(() => "no revert", revertView(deployed.interface)),
  estimate: await deployed.add.estimateGas(scenario.tooLarge).then(() => "no revert", revertView(deployed.interface)),
};

out.end = {
  blockNumber: dec(await provider.getBlockNumber()),
  nonce: await provider.getTransactionCount(scenario.sender),
  recipientBalance: dec(await provider.getBalance(scenario.recipient)),
};
provider.destroy();
emit(out);
