// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title A fee-on-transfer ERC-20 (1 % of every transfer is burnt), for tests only
/// @notice Shows that the marketplace refuses a payment that arrives short.
contract FeeToken is ERC20 {
    constructor() ERC20("Fee Token", "FEE") {}

    /// @notice Mints `amount` to `to`; anyone may call it.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @dev Burns 1 % of every transfer between two accounts (mints and burns are not charged).
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}
