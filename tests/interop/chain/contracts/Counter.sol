// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// A small contract for the interop scenario: a constructor argument, a view, a state change that emits an
/// event, and a custom error that a client has to decode from revert data.
contract Counter {
    /// Raised when `add` is asked to add more than `limit` at once.
    error TooLarge(uint256 given, uint256 limit);

    /// Emitted on every successful `add`.
    event Added(address indexed by, uint256 amount, uint256 total);

    uint256 public constant LIMIT = 100;
    uint256 public total;
    address public owner;

    constructor(uint256 start) {
        total = start;
        owner = msg.sender;
    }

    function add(uint256 amount) external returns (uint256) {
        if (amount > LIMIT) revert TooLarge(amount, LIMIT);
        total += amount;
        emit Added(msg.sender, amount, total);
        return total;
    }
}
