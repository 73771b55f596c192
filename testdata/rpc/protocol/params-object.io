// Parameters are positional: an object is rejected.
>> {"jsonrpc":"2.0","id":"abc","method":"eth_getBalance","params":{"address":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"}}
<< {"jsonrpc":"2.0","id":"abc","error":{"code":-32602,"message":"invalid params: params must be an array of positional arguments"}}
