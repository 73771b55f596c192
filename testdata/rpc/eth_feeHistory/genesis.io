// Fee history over the genesis block: base fee 1 gwei, the next one unchanged (empty block at target 0
// decreases by 12.5%), no rewards in an empty block.
>> {"jsonrpc":"2.0","id":1,"method":"eth_feeHistory","params":["0x1","latest",[25,75]]}
<< {"jsonrpc":"2.0","id":1,"result":{"oldestBlock":"0x0","baseFeePerGas":["0x3b9aca00","0x342770c0"],"gasUsedRatio":[0.0],"baseFeePerBlobGas":["0x1","0x1"],"blobGasUsedRatio":[0.0],"reward":[["0x0","0x0"]]}}
