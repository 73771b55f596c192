>> {"jsonrpc":"2.0","id":1,"method":"eth_feeHistory","params":[1,"latest",[75,25]]}
<< {"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"invalid params: rewardPercentiles must be increasing values between 0 and 100"}}
