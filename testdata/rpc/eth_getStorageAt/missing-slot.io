// A missing required argument is an invalid-params error naming it.
>> {"jsonrpc":"2.0","id":1,"method":"eth_getStorageAt","params":["0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"]}
<< {"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"invalid params: argument 2 (slot) is missing or malformed: invalid type: null, expected a 32 byte hex string"}}
