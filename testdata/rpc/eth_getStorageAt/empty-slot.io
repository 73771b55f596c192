// An unset slot reads as 32 zero bytes.
>> {"jsonrpc":"2.0","id":1,"method":"eth_getStorageAt","params":["0x70997970c51812dc3a010c7d01b50e0d17dc79c8","0x0","latest"]}
<< {"jsonrpc":"2.0","id":1,"result":"0x0000000000000000000000000000000000000000000000000000000000000000"}
