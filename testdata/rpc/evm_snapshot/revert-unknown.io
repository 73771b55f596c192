// Reverting to a snapshot that was never taken answers false.
>> {"jsonrpc":"2.0","id":1,"method":"evm_revert","params":["0x99"]}
<< {"jsonrpc":"2.0","id":1,"result":false}
