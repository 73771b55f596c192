// No logs at genesis; a reversed range is an error.
>> {"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[{"fromBlock":"earliest","toBlock":"latest"}]}
<< {"jsonrpc":"2.0","id":1,"result":[]}
