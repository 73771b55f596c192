// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

/// @title A contract account for tests only
/// @notice Forwards calls, and on receiving ether either refuses it or re-enters a target with
/// prepared calldata, recording whether the re-entry succeeded. Lets tests show that payouts to
/// contracts that misbehave cannot break the marketplace.
contract ProbeAccount {
    /// @notice Whether receiving ether reverts.
    bool public rejectEther;
    /// @notice Whether the last re-entry attempt succeeded.
    bool public reentrySucceeded;
    /// @notice How many re-entries were attempted.
    uint256 public reentryAttempts;
    /// @notice Where re-entry calls go.
    address public reentryTarget;
    /// @notice Calldata sent to `reentryTarget` when ether arrives (empty: none).
    bytes public reentryData;

    /// @notice A forwarded call reverted with `data`.
    error CallFailed(bytes data);
    /// @notice This probe refuses ether.
    error EtherRefused();

    /// @notice Makes receiving ether revert (or not).
    function setRejectEther(bool reject) external {
        rejectEther = reject;
    }

    /// @notice On the next ether received, call `target` with `data`.
    function setReentry(address target, bytes calldata data) external {
        reentryTarget = target;
        reentryData = data;
    }

    /// @notice Calls `target` with `data` and `value`, reverting with CallFailed on failure.
    function exec(address target, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        // Test-only: forwards arbitrary calldata.
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) revert CallFailed(ret);
        return ret;
    }

    // Test-only: the probe exists to misbehave on receipt.
    // solhint-disable-next-line no-complex-fallback
    receive() external payable {
        if (rejectEther) revert EtherRefused();
        if (reentryData.length != 0) {
            bytes memory data = reentryData;
            delete reentryData;
            reentryAttempts += 1;
            // Test-only: re-enters with arbitrary calldata.
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok,) = reentryTarget.call(data);
            reentrySucceeded = ok;
        }
    }
}
