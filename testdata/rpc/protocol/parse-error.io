// Malformed JSON: -32700 with a null id.
>> {"jsonrpc":"2.0","id":1,"method"
<< {"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: EOF while parsing an object at line 1 column 32"}}
