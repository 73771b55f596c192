// A malformed address is an invalid-params error.
>> {"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x1234","latest"]}
<< {"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"invalid params: argument 1 (address) is missing or malformed: invalid string length"}}
