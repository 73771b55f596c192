// A batch answers each call in order, errors included.
>> [{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":2,"method":"nope_nope"},{"jsonrpc":"2.0","id":3,"method":"net_listening"}]
<< [{"jsonrpc":"2.0","id":1,"result":"0x0"},{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"the method nope_nope does not exist/is not available"}},{"jsonrpc":"2.0","id":3,"result":true}]
