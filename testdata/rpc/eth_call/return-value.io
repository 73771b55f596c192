// Init code run by eth_call returns its output: here the 32-byte word 42.
>> {"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"data":"0x602a60005260206000f3"}]}
<< {"jsonrpc":"2.0","id":1,"result":"0x000000000000000000000000000000000000000000000000000000000000002a"}
