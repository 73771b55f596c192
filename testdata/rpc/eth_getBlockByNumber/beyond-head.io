// A block that does not exist yet is null, not an error.
>> {"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x64",false]}
<< {"jsonrpc":"2.0","id":1,"result":null}
