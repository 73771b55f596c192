// SPDX-License-Identifier: MIT
// A small contract that exercises what the devnet's integration tests check: deployment with constructor
// arguments and value, storage, events with indexed topics, custom errors, require reasons, refunds, block
// context opcodes and nested calls.
pragma solidity 0.8.37;

contract Probe {
    error TooLarge(uint256 value, uint256 limit);

    event Stored(address indexed by, uint256 indexed key, uint256 value);

    mapping(uint256 => uint256) public values;
    uint256 public count;
    address public immutable deployer;

    constructor(uint256 initial) payable {
        count = initial;
        deployer = msg.sender;
    }

    function store(uint256 key, uint256 value) external {
        if (value > 1000) revert TooLarge(value, 1000);
        values[key] = value;
        count += 1;
        emit Stored(msg.sender, key, value);
    }

    function requireSmall(uint256 value) external pure returns (uint256) {
        require(value < 10, "value too big");
        return value * 2;
    }

    function fill(uint256 n) external {
        for (uint256 i = 0; i < n; i++) values[i] = i + 1;
    }

    function clear(uint256 n) external {
        for (uint256 i = 0; i < n; i++) delete values[i];
    }

    function context() external view returns (uint256 number, uint256 timestamp, uint256 chainId, uint256 baseFee) {
        return (block.number, block.timestamp, block.chainid, block.basefee);
    }

    function forward(address payable to) external payable {
        (bool ok,) = to.call{value: msg.value}("");
        require(ok, "forward failed");
    }
}
