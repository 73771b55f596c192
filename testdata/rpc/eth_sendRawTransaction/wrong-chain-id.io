// A transfer signed by dev account 0 for chain id 1 (nonce 0, 1 wei to account 1).
>> {"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x02f86b0180843b9aca008502540be4008252089470997970c51812dc3a010c7d01b50e0d17dc79c80180c001a03fbd114d3bfafb03a1a73ec9c5935e863e7ac075098a493bd45cc4b1dae92ac4a057770cc2c470d1b94955e40b4d8c826f04d771abc0c2af8fd73f082c84fab7f7"]}
<< {"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"invalid chain id for signer: have 1, want 31337"}}
