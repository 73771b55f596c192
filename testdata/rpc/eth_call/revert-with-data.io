// Init code that reverts with 0xdeadbeef: code 3, the data, and geth's message.
>> {"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"data":"0x63deadbeef6000526004601cfd"},"latest"]}
<< {"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted","data":"0xdeadbeef"}}
