>> {"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x02c001"]}
<< {"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"transaction could not be decoded: input too short"}}
