// The method name is read before the parameters: an unknown method answers -32601 even when its parameters
// would not parse for any method (viem falls back only on -32601).
>> {"jsonrpc":"2.0","id":1,"method":"eth_frobnicate","params":["not an address",{"x":1}]}
<< {"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method eth_frobnicate does not exist/is not available"}}
