// The interop scenario with web3.js v4: `node clients/web3.mjs RPC_URL` prints what a web3.js user observes as JSON.
import { Web3, eth } from "web3";
import { compileCounter } from "../lib/compile.cjs";
import { addr, dec, emit, rpcUrl, scenario, status, txType } from "../lib/scenario.cjs";

const url = rpcUrl();
const { abi, bytecode } = compileCounter();
const web3 = new Web3(url);
web3.setConfig({ transactionPollingInterval: 50, transactionReceiptPollingInterval: 50, transactionConfirmationBlocks: 1 });
const account = web3.eth.accounts.wallet.add(scenario.senderKey).get(0);
const from = account.address;

const receiptView = (r) => ({
  status: status(r.status),
  type: txType(r.type),
  from: addr(r.from),
  to: addr(r.to),
  contractAddress: addr(r.contractAddress),
  blockNumber: dec(r.blockNumber),
  transactionIndex: Number(r.transactionIndex),
  gasUsed: dec(r.gasUsed),
  cumulativeGasUsed: dec(r.cumulativeGasUsed),
  effectiveGasPrice: dec(r.effectiveGasPrice),
  logCount: r.logs.length,
});
const eventView = (e) => ({
  event: e.event,
  address: addr(e.address),
  by: addr(e.returnValues.by),
  amount: dec(e.returnValues.amount),
  total: dec(e.returnValues.total),
  blockNumber: dec(e.blockNumber),
  logIndex: Number(e.logIndex),
  transactionIndex: Number(e.transactionIndex),
});
// web3.js decodes a custom error of the contract's ABI into the error's cause (errorName, errorArgs) for a call;
// for a gas estimate the user decodes the cause with the ABI's error fragments. A revert it could not decode is
// recorded with its message.
const errorAbis = abi.filter((item) => item.type === "error");
const revertView = (err) => {
  const cause = err?.cause;
  if (!cause) throw err;
  if (cause.errorName === undefined && cause.data) eth.abi.decodeContractErrorData(errorAbis, cause);
  if (cause.errorName === undefined) return { undecoded: cause.message };
  const args = [];
  for (let i = 0; i < Number(cause.errorArgs.__length__); i += 1) args.push(dec(cause.errorArgs[i]));
  return { error: cause.errorName, args };
};

const out = { client: "web3" };
out.chainId = Number(await web3.eth.getChainId());
out.startBlock = dec(await web3.eth.getBlockNumber());
const senderBefore = await web3.eth.getBalance(scenario.sender);
out.balancesBefore = {
  sender: dec(senderBefore),
  other: dec(await web3.eth.getBalance(scenario.otherAccount)),
  recipient: dec(await web3.eth.getBalance(scenario.recipient)),
};
out.nonceBefore = Number(await web3.eth.getTransactionCount(scenario.sender));

// A plain ETH transfer (signed locally by the wallet, sent raw, receipt awaited).
const transfer = await web3.eth.sendTransaction({ from, to: scenario.recipient, value: scenario.transferWei });
const senderAfter = await web3.eth.getBalance(scenario.sender);
out.transfer = {
  receipt: receiptView(transfer),
  recipientBalance: dec(await web3.eth.getBalance(scenario.recipient)),
  senderPaidValuePlusFee: senderBefore - senderAfter === scenario.transferWei + transfer.gasUsed * transfer.effectiveGasPrice,
};

// Deploy the contract compiled above.
let deploy;
const deployed = await new web3.eth.Contract(abi)
  .deploy({ data: bytecode, arguments: [scenario.counterStart] })
  .send({ from })
  .on("receipt", (r) => {
    deploy = r;
  });
const counter = deployed.options.address;
const code = await web3.eth.getCode(counter);
out.deploy = { receipt: receiptView(deploy), codeBytes: (code.length - 2) / 2 };

// Calls.
out.read = {
  total: dec(await deployed.methods.total().call()),
  owner: addr(await deployed.methods.owner().call()),
  limit: dec(await deployed.methods.LIMIT().call()),
};

// Estimate, simulate and send a state change; its event from the receipt.
const gas = await deployed.methods.add(scenario.addAmount).estimateGas({ from });
const simulated = await deployed.methods.add(scenario.addAmount).call({ from });
const added = await deployed.methods.add(scenario.addAmount).send({ from, gas });
out.add = {
  simulated: dec(simulated),
  receipt: receiptView(added),
  estimateCoversGasUsed: gas >= added.gasUsed,
  events: Object.values(added.events ?? {}).map(eventView),
  totalAfter: dec(await deployed.methods.total().call()),
};

// The transaction and its block as the client reads them back; state at past blocks.
const tx = await web3.eth.getTransaction(added.transactionHash);
out.transaction = {
  from: addr(tx.from),
  to: addr(tx.to),
  nonce: Number(tx.nonce),
  value: dec(tx.value),
  gas: dec(tx.gas),
  type: txType(tx.type),
  chainId: Number(tx.chainId),
  input: tx.input,
  blockNumber: dec(tx.blockNumber),
  transactionIndex: Number(tx.transactionIndex),
  inBlockOfReceipt: tx.blockHash === added.blockHash,
};
const block = await web3.eth.getBlock(added.blockNumber);
const parent = await web3.eth.getBlock(added.blockNumber - 1n);
out.block = {
  number: dec(block.number),
  gasUsed: dec(block.gasUsed),
  gasLimit: dec(block.gasLimit),
  baseFeePerGas: dec(block.baseFeePerGas),
  transactions: block.transactions.length,
  containsTransaction: block.transactions.includes(added.transactionHash),
  parentIsPreviousBlock: block.parentHash === parent.hash,
  timestampNotBeforeParent: block.timestamp >= parent.timestamp,
};
out.history = {
  recipientAtBlock0: dec(await web3.eth.getBalance(scenario.recipient, 0)),
  recipientAtBlock1: dec(await web3.eth.getBalance(scenario.recipient, 1)),
  nonceAtBlock1: Number(await web3.eth.getTransactionCount(scenario.sender, 1)),
  totalAtDeployBlock: dec(await deployed.methods.total().call({}, deploy.blockNumber)),
};
out.fees = {
  gasPrice: dec(await web3.eth.getGasPrice()),
  maxPriorityFeePerGas: dec(await web3.eth.getMaxPriorityFeePerGas()),
};

// Logs by query: by address and event, and by topic (indexed `by`).
out.logs = {
  byEvent: (await deployed.getPastEvents("Added", { fromBlock: 0, toBlock: "latest" })).map(eventView),
  bySender: (await deployed.getPastEvents("Added", { filter: { by: scenario.sender }, fromBlock: 0 })).length,
  byBlockHash: (await web3.eth.getPastLogs({ blockHash: added.blockHash })).length,
  byOther: (await deployed.getPastEvents("Added", { filter: { by: scenario.otherAccount }, fromBlock: 0 })).length,
};

// A custom-error revert, seen through a call and through gas estimation.
out.revert = {
  call: await deployed.methods.add(scenario.tooLarge).call({ from }).then(() => "no revert", revertView),
  estimate: await deployed.methods.add(scenario.tooLarge).estimateGas({ from }).then(() => "no revert", revertView),
};

out.end = {
  blockNumber: dec(await web3.eth.getBlockNumber()),
  nonce: Number(await web3.eth.getTransactionCount(scenario.sender)),
  recipientBalance: dec(await web3.eth.getBalance(scenario.recipient)),
};
emit(out);
