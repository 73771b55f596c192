// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {Marketplace} from "./Marketplace.sol";

/// @title Scal3ML evaluation attestations
/// @notice Anyone may attest that a model version scored a value on a metric over a dataset version,
/// with a report CID; anyone else may endorse or dispute an attestation with their own report.
/// @dev Full details live in the events, from which a leaderboard is built; storage keeps only what
/// the checks need.
contract Attestations {
    /// @notice One attestation's stored part (one storage slot).
    struct Record {
        address attester;
        uint32 endorsements;
        uint32 disputes;
    }

    /// @notice The marketplace whose assets are evaluated.
    Marketplace public immutable MARKETPLACE;

    uint256 private _nextId = 1;
    mapping(uint256 attestationId => Record record) private _records;
    mapping(uint256 attestationId => mapping(address reviewer => bool reviewed)) private _reviewed;

    /// @notice A result was attested. `value` is fixed point with `decimals` decimals.
    event Attested(
        uint256 indexed attestationId,
        uint256 indexed modelAssetId,
        uint256 indexed datasetAssetId,
        uint256 modelVersion,
        uint256 datasetVersion,
        address attester,
        string metric,
        int256 value,
        uint8 decimals,
        bytes reportCid
    );
    /// @notice Someone endorsed (`agrees`) or disputed an attestation with their own report.
    event Reviewed(uint256 indexed attestationId, address indexed reviewer, bool agrees, bytes reportCid);

    /// @notice The asset has another kind than needed.
    error WrongAssetKind(uint256 assetId, Marketplace.AssetKind kind, Marketplace.AssetKind expected);
    /// @notice The asset has no such version.
    error UnknownVersion(uint256 assetId, uint256 version, uint256 versionCount);
    /// @notice The metric name was empty.
    error EmptyMetric();
    /// @notice The report CID was empty.
    error EmptyReport();
    /// @notice No attestation has this id.
    error UnknownAttestation(uint256 attestationId);
    /// @notice The reviewer already endorsed or disputed this attestation.
    error AlreadyReviewed(uint256 attestationId, address reviewer);
    /// @notice Attesters cannot review their own attestation.
    error OwnAttestation(uint256 attestationId);

    /// @param marketplace the marketplace holding the assets
    constructor(Marketplace marketplace) {
        MARKETPLACE = marketplace;
    }

    /// @notice Attests a result. Reverts if the model or dataset asset or version does not exist.
    /// @return attestationId the new attestation's id
    function attest(
        uint256 modelAssetId,
        uint256 modelVersion,
        uint256 datasetAssetId,
        uint256 datasetVersion,
        string calldata metric,
        int256 value,
        uint8 decimals,
        bytes calldata reportCid
    ) external returns (uint256 attestationId) {
        _checkVersion(modelAssetId, modelVersion, Marketplace.AssetKind.Model);
        _checkVersion(datasetAssetId, datasetVersion, Marketplace.AssetKind.Dataset);
        if (bytes(metric).length == 0) revert EmptyMetric();
        if (reportCid.length == 0) revert EmptyReport();
        attestationId = _nextId++;
        _records[attestationId] = Record(msg.sender, 0, 0);
        emit Attested(
            attestationId,
            modelAssetId,
            datasetAssetId,
            modelVersion,
            datasetVersion,
            msg.sender,
            metric,
            value,
            decimals,
            reportCid
        );
    }

    /// @notice Endorses an attestation with the reviewer's own report.
    function endorse(uint256 attestationId, bytes calldata reportCid) external {
        _review(attestationId, true, reportCid);
    }

    /// @notice Disputes an attestation with the reviewer's own report.
    function dispute(uint256 attestationId, bytes calldata reportCid) external {
        _review(attestationId, false, reportCid);
    }

    /// @notice The stored part of an attestation.
    function attestation(uint256 attestationId) external view returns (Record memory record) {
        record = _records[attestationId];
        if (record.attester == address(0)) revert UnknownAttestation(attestationId);
    }

    /// @notice Whether `reviewer` endorsed or disputed `attestationId`.
    function hasReviewed(uint256 attestationId, address reviewer) external view returns (bool) {
        return _reviewed[attestationId][reviewer];
    }

    function _review(uint256 attestationId, bool agrees, bytes calldata reportCid) private {
        Record storage record = _records[attestationId];
        if (record.attester == address(0)) revert UnknownAttestation(attestationId);
        if (record.attester == msg.sender) revert OwnAttestation(attestationId);
        if (reportCid.length == 0) revert EmptyReport();
        if (_reviewed[attestationId][msg.sender]) revert AlreadyReviewed(attestationId, msg.sender);
        _reviewed[attestationId][msg.sender] = true;
        if (agrees) record.endorsements += 1;
        else record.disputes += 1;
        emit Reviewed(attestationId, msg.sender, agrees, reportCid);
    }

    function _checkVersion(uint256 assetId, uint256 version, Marketplace.AssetKind expected) private view {
        Marketplace.AssetRecord memory rec = MARKETPLACE.assetRecord(assetId);
        if (rec.kind != expected) revert WrongAssetKind(assetId, rec.kind, expected);
        if (version >= rec.versionCount) revert UnknownVersion(assetId, version, rec.versionCount);
    }
}
