// viem probes eth_fillTransaction and falls back only on -32601.
>> {"jsonrpc":"2.0","id":1,"method":"eth_fillTransaction","params":[{}]}
<< {"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method eth_fillTransaction does not exist/is not available"}}
