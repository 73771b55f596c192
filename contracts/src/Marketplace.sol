// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title Scal3ML marketplace
/// @notice Assets (ERC-721) with versions, listings and licenses, revenue shares paid out through a
/// per-asset revenue-per-share accumulator, upstream royalties along a bounded lineage, and
/// version proposals voted on with the shares held before the proposal was made.
/// @dev Content and metadata CIDs, the gateway URL and descriptions live in events; storage keeps a
/// keccak256 commitment per version so anyone can check an event-sourced history against the chain.
contract Marketplace is ERC721, Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;

    // ------------------------------------------------------------------ types

    /// @notice What an asset holds.
    enum AssetKind {
        Dataset,
        Model
    }

    /// @notice Life cycle of a proposal. Expiry is computed from the deadline, not stored.
    enum ProposalState {
        None,
        Open,
        Executed,
        Rejected,
        Expired
    }

    /// @notice A parent asset and the share of every sale of the child it receives, in basis points.
    struct ParentRef {
        uint256 assetId;
        uint16 royaltyBps;
    }

    /// @notice An initial holder of revenue shares.
    struct Shareholder {
        address account;
        uint96 shares;
    }

    /// @notice A price in one payment token. `duration` 0 means a perpetual license.
    struct ListingTerms {
        address token;
        uint128 price;
        uint64 duration;
    }

    /// @notice Everything `publish` needs.
    struct PublishParams {
        AssetKind kind;
        bytes contentCid;
        bytes metadataCid;
        bool encrypted;
        string gatewayUrl;
        ParentRef[] parents;
        Shareholder[] shareholders;
        ListingTerms listing;
    }

    /// @notice The stored record of an asset (one storage slot).
    struct AssetRecord {
        uint96 totalShares;
        AssetKind kind;
        bool encrypted;
        bool deprecated;
        uint8 parentCount;
        uint8 depth;
        uint8 upstreamCount;
        uint8 freeListings;
        uint32 versionCount;
    }

    /// @notice A stored parent link (one storage slot; asset ids are sequential and fit 64 bits).
    struct ParentLink {
        uint64 assetId;
        uint16 royaltyBps;
    }

    /// @notice A stored listing (one storage slot).
    struct Listing {
        uint128 price;
        uint64 duration;
        bool active;
    }

    /// @notice A holder's shares in an asset and their revenue debt in ETH (one storage slot).
    /// @dev claimable = shares * revenuePerShare - debt. Debt of other tokens lives in `_tokenDebt`.
    struct Holding {
        uint96 shares;
        int160 ethDebt;
    }

    /// @notice Revenue accumulator of one asset in one token (one storage slot).
    /// @dev `perShare` is cumulative wei per share; `remainder` is wei not yet divisible by the total
    /// shares, carried into the asset's next credit in the same token.
    struct Pool {
        uint160 perShare;
        uint96 remainder;
    }

    /// @notice A value as it stood before the changes made in block `blockNumber`.
    struct Checkpoint {
        uint48 blockNumber;
        uint96 valueBefore;
    }

    /// @notice A proposed new version of an asset.
    struct Proposal {
        uint256 assetId;
        address proposer;
        uint48 snapshotBlock;
        uint48 deadline;
        ProposalState state;
        uint96 requestedShares;
        uint96 yesVotes;
        uint96 noVotes;
        uint96 totalAtSnapshot;
        bytes contentCid;
        bytes metadataCid;
    }

    // ------------------------------------------------------------------ bounds and constants

    /// @notice The payment token id used for ether.
    address public constant ETH = address(0);
    /// @notice Most parents one asset may name.
    uint256 public constant MAX_PARENTS = 4;
    /// @notice Longest chain of ancestors above an asset.
    uint256 public constant MAX_DEPTH = 4;
    /// @notice Most ancestor credits (counted along every path) one sale may make.
    uint256 public constant MAX_UPSTREAM = 16;
    /// @notice Basis points in a whole.
    uint256 public constant BPS = 10_000;
    /// @notice Highest marketplace fee an admin may set (10 %).
    uint256 public constant MAX_FEE_BPS = 1_000;
    /// @notice Most ERC-20 tokens that may ever be allowed for payment.
    uint256 public constant MAX_PAYMENT_TOKENS = 8;
    /// @notice How long a proposal is open for votes.
    uint256 public constant VOTING_PERIOD = 7 days;
    /// @notice License expiry meaning "never expires".
    uint64 public constant PERPETUAL = type(uint64).max;

    // ------------------------------------------------------------------ storage

    uint256 private _nextAssetId = 1;
    uint256 private _nextProposalId = 1;

    /// @notice Marketplace fee recipient (set by the admin).
    address public feeRecipient;
    /// @notice Marketplace fee in basis points (set by the admin, at most MAX_FEE_BPS).
    uint16 public feeBps;

    address[] private _paymentTokens;
    mapping(address token => bool allowed) private _allowedToken;
    mapping(address token => uint256 amount) private _feesOwed;

    mapping(uint256 assetId => AssetRecord record) private _assets;
    mapping(uint256 assetId => mapping(uint256 index => ParentLink parent)) private _parents;
    mapping(uint256 assetId => mapping(uint256 index => bytes32 commitment)) private _versions;
    mapping(uint256 assetId => mapping(address token => Listing listing)) private _listings;
    /// @dev keccak256 of the current card's metadata CID, written when the card first changes after publish;
    /// zero means the card is still the one published (saving a storage write at publish).
    mapping(uint256 assetId => bytes32 metadataHash) private _metadataHashes;
    mapping(uint256 assetId => mapping(address account => uint64 expiry)) private _licenses;
    mapping(uint256 assetId => mapping(address account => Holding holding)) private _holdings;
    mapping(uint256 assetId => mapping(address token => mapping(address account => int256 debt))) private _tokenDebt;
    mapping(uint256 assetId => mapping(address token => Pool pool)) private _pools;
    mapping(uint256 assetId => mapping(address account => Checkpoint[] history)) private _shareHistory;
    mapping(uint256 assetId => Checkpoint[] history) private _totalHistory;

    mapping(uint256 proposalId => Proposal proposal) private _proposals;
    mapping(uint256 proposalId => mapping(address voter => bool voted)) private _voted;

    // ------------------------------------------------------------------ events

    /// @notice An asset was minted. Its first version, shareholders and listing follow as their own events.
    event AssetPublished(
        uint256 indexed assetId,
        address indexed owner,
        AssetKind kind,
        bool encrypted,
        string gatewayUrl,
        ParentRef[] parents
    );
    /// @notice A version was appended to an asset's history (index 0 at publish).
    event VersionAdded(
        uint256 indexed assetId,
        uint256 indexed index,
        address indexed author,
        bytes contentCid,
        bytes metadataCid,
        bytes32 commitment
    );
    /// @notice The owner replaced the metadata CID of the asset's latest version.
    event MetadataUpdated(uint256 indexed assetId, bytes metadataCid);
    /// @notice The owner changed the access gateway URL.
    event GatewayChanged(uint256 indexed assetId, string gatewayUrl);
    /// @notice The owner deprecated the asset; it can no longer be bought.
    event AssetDeprecated(uint256 indexed assetId);
    /// @notice A listing was created or changed.
    event ListingSet(uint256 indexed assetId, address indexed token, uint128 price, uint64 duration);
    /// @notice A listing was removed.
    event ListingRemoved(uint256 indexed assetId, address indexed token);
    /// @notice A license was bought or renewed; `expiry` is PERPETUAL for a perpetual license.
    event LicensePurchased(
        uint256 indexed assetId, address indexed buyer, address indexed token, uint256 price, uint64 expiry
    );
    /// @notice Revenue (after fee and upstream royalties) was credited to an asset's shareholders.
    event RevenueCredited(uint256 indexed assetId, address indexed token, uint256 amount);
    /// @notice A parent received a royalty from a sale of (or a royalty to) a child.
    event RoyaltyPaid(uint256 indexed parentId, uint256 indexed childId, address indexed token, uint256 amount);
    /// @notice The marketplace fee of a sale was set aside for the fee recipient.
    event FeeCharged(address indexed token, uint256 amount);
    /// @notice Shares moved; `from` is zero when minted.
    event SharesTransferred(uint256 indexed assetId, address indexed from, address indexed to, uint256 amount);
    /// @notice A shareholder withdrew revenue.
    event Withdrawn(uint256 indexed assetId, address indexed account, address indexed token, uint256 amount);
    /// @notice The fee recipient withdrew fees.
    event FeesWithdrawn(address indexed recipient, address indexed token, uint256 amount);
    /// @notice The admin changed the fee.
    event FeeChanged(address indexed recipient, uint16 feeBps);
    /// @notice The admin allowed an ERC-20 token for payment.
    event PaymentTokenAllowed(address indexed token);
    /// @notice Someone proposed a new version. Its snapshot block is the block before this event's
    /// block and its deadline is this block's timestamp plus VOTING_PERIOD.
    event ProposalCreated(
        uint256 indexed proposalId,
        uint256 indexed assetId,
        address indexed proposer,
        bytes contentCid,
        bytes metadataCid,
        uint96 requestedShares,
        bytes descriptionCid
    );
    /// @notice A shareholder voted.
    event VoteCast(uint256 indexed proposalId, address indexed voter, bool support, uint96 weight);
    /// @notice A passed proposal was executed.
    event ProposalExecuted(uint256 indexed proposalId, uint256 indexed versionIndex);
    /// @notice The asset owner rejected a proposal.
    event ProposalRejected(uint256 indexed proposalId);

    // ------------------------------------------------------------------ errors

    /// @notice No asset has this id.
    error UnknownAsset(uint256 assetId);
    /// @notice Only the asset's owner may do this.
    error NotAssetOwner(uint256 assetId, address caller);
    /// @notice A CID argument was empty.
    error EmptyCid();
    /// @notice An encrypted asset needs an access gateway URL.
    error MissingGateway();
    /// @notice Too many parents.
    error TooManyParents(uint256 count, uint256 max);
    /// @notice The same parent was named twice.
    error DuplicateParent(uint256 parentId);
    /// @notice A parent's royalty was zero.
    error ZeroRoyalty(uint256 parentId);
    /// @notice The royalties of all parents add up to more than 100 %.
    error RoyaltyTooHigh(uint256 totalBps, uint256 max);
    /// @notice The lineage would be deeper than MAX_DEPTH.
    error LineageTooDeep(uint256 depth, uint256 max);
    /// @notice A sale would credit more than MAX_UPSTREAM ancestors.
    error TooManyAncestors(uint256 count, uint256 max);
    /// @notice An asset needs at least one shareholder.
    error NoShareholders();
    /// @notice A shareholder was given zero shares.
    error ZeroShares(address account);
    /// @notice The zero address is not allowed here.
    error ZeroAddress();
    /// @notice The total number of shares would not fit.
    error TooManyShares(uint256 total, uint256 max);
    /// @notice The token is not allowed for payment.
    error TokenNotAllowed(address token);
    /// @notice The asset is not for sale in this token.
    error NotListed(uint256 assetId, address token);
    /// @notice The price exceeds what the buyer accepted.
    error PriceTooHigh(uint256 price, uint256 maxPrice);
    /// @notice The listing's license is shorter than the buyer accepted (`duration` 0 would be perpetual).
    error DurationTooShort(uint64 duration, uint64 minDuration);
    /// @notice The card changed since the buyer read it: keccak256 of the current metadata CID, and of the one read.
    error MetadataChanged(bytes32 current, bytes32 seen);
    /// @notice The marketplace received another amount of an ERC-20 than the price (a fee-on-transfer token).
    error ReceivedWrongAmount(address token, uint256 received, uint256 expected);
    /// @notice The ether sent differs from what the purchase needs (overpayment is rejected, not refunded).
    error WrongPayment(uint256 sent, uint256 expected);
    /// @notice The asset is deprecated.
    error Deprecated(uint256 assetId);
    /// @notice The account already holds a perpetual license.
    error AlreadyPerpetual(uint256 assetId, address account);
    /// @notice The holder has fewer shares than asked.
    error InsufficientShares(uint256 assetId, address account, uint256 balance, uint256 needed);
    /// @notice Nothing to withdraw.
    error NothingToWithdraw(uint256 assetId, address account, address token);
    /// @notice An ether payment failed.
    error PaymentFailed(address to, uint256 amount);
    /// @notice The fee exceeds MAX_FEE_BPS.
    error FeeTooHigh(uint256 bps, uint256 max);
    /// @notice Only the fee recipient may withdraw fees.
    error NotFeeRecipient(address caller);
    /// @notice No more payment tokens may be allowed.
    error TooManyPaymentTokens(uint256 max);
    /// @notice The token is already allowed.
    error TokenAlreadyAllowed(address token);
    /// @notice No proposal has this id.
    error UnknownProposal(uint256 proposalId);
    /// @notice The proposal is not open.
    error ProposalNotOpen(uint256 proposalId, ProposalState state);
    /// @notice The voter already voted on this proposal.
    error AlreadyVoted(uint256 proposalId, address voter);
    /// @notice The voter held no shares at the proposal's snapshot block.
    error NoVotingPower(uint256 proposalId, address voter);
    /// @notice The proposal lacks a majority of all shares at its snapshot.
    error ProposalNotPassed(uint256 proposalId, uint256 yesVotes, uint256 needed);

    // ------------------------------------------------------------------ construction and admin

    /// @param admin the account that may set the fee and allow payment tokens
    constructor(address admin) ERC721("Scal3ML Asset", "S3A") Ownable(admin) {
        feeRecipient = admin;
    }

    /// @notice Sets the marketplace fee and its recipient. Fees already owed go to the new recipient.
    function setFee(address recipient, uint16 bps) external onlyOwner {
        if (recipient == address(0)) revert ZeroAddress();
        if (bps > MAX_FEE_BPS) revert FeeTooHigh(bps, MAX_FEE_BPS);
        feeRecipient = recipient;
        feeBps = bps;
        emit FeeChanged(recipient, bps);
    }

    /// @notice Allows an ERC-20 token for listings. Allowed tokens can never be removed, so the
    /// accounting that loops over them stays bounded and correct. Only standard tokens (no fee on
    /// transfer, no rebasing, no callbacks) may be allowed.
    function allowPaymentToken(address token) external onlyOwner {
        if (token == address(0)) revert ZeroAddress();
        if (_allowedToken[token]) revert TokenAlreadyAllowed(token);
        if (_paymentTokens.length >= MAX_PAYMENT_TOKENS) revert TooManyPaymentTokens(MAX_PAYMENT_TOKENS);
        _allowedToken[token] = true;
        _paymentTokens.push(token);
        emit PaymentTokenAllowed(token);
    }

    // ------------------------------------------------------------------ publishing

    /// @notice Mints a new asset to the caller with its first version, shareholders and listing.
    /// @return assetId the new asset's id
    function publish(PublishParams calldata p) external returns (uint256 assetId) {
        if (p.contentCid.length == 0 || p.metadataCid.length == 0) revert EmptyCid();
        if (p.encrypted && bytes(p.gatewayUrl).length == 0) revert MissingGateway();
        uint256 parentCount = p.parents.length;
        if (parentCount > MAX_PARENTS) revert TooManyParents(parentCount, MAX_PARENTS);
        if (p.shareholders.length == 0) revert NoShareholders();

        assetId = _nextAssetId++;
        uint256 depth = 0;
        uint256 upstream = 0;
        uint256 royaltyTotal = 0;
        for (uint256 i; i < parentCount; ++i) {
            ParentRef calldata parent = p.parents[i];
            AssetRecord storage pr = _existing(parent.assetId);
            if (parent.royaltyBps == 0) revert ZeroRoyalty(parent.assetId);
            for (uint256 j; j < i; ++j) {
                if (p.parents[j].assetId == parent.assetId) revert DuplicateParent(parent.assetId);
            }
            royaltyTotal += parent.royaltyBps;
            upstream += 1 + pr.upstreamCount;
            if (pr.depth + 1 > depth) depth = pr.depth + 1;
            // The parent exists, so its id is below _nextAssetId and fits 64 bits.
            _parents[assetId][i] = ParentLink(uint64(parent.assetId), parent.royaltyBps);
        }
        if (royaltyTotal > BPS) revert RoyaltyTooHigh(royaltyTotal, BPS);
        if (depth > MAX_DEPTH) revert LineageTooDeep(depth, MAX_DEPTH);
        if (upstream > MAX_UPSTREAM) revert TooManyAncestors(upstream, MAX_UPSTREAM);

        uint256 total = 0;
        for (uint256 i; i < p.shareholders.length; ++i) {
            Shareholder calldata h = p.shareholders[i];
            if (h.account == address(0)) revert ZeroAddress();
            if (h.shares == 0) revert ZeroShares(h.account);
            total += h.shares;
            if (total > type(uint96).max) revert TooManyShares(total, type(uint96).max);
            // No revenue exists yet, so a fresh holding has zero debt.
            _holdings[assetId][h.account].shares += h.shares;
            emit SharesTransferred(assetId, address(0), h.account, h.shares);
        }

        ListingTerms calldata terms = p.listing;
        if (terms.token != ETH && !_allowedToken[terms.token]) revert TokenNotAllowed(terms.token);
        _listings[assetId][terms.token] = Listing(terms.price, terms.duration, true);

        _assets[assetId] = AssetRecord({
            totalShares: uint96(total),
            kind: p.kind,
            encrypted: p.encrypted,
            deprecated: false,
            parentCount: uint8(parentCount),
            depth: uint8(depth),
            upstreamCount: uint8(upstream),
            freeListings: terms.price == 0 ? 1 : 0,
            versionCount: 1
        });
        _mint(msg.sender, assetId);
        emit AssetPublished(assetId, msg.sender, p.kind, p.encrypted, p.gatewayUrl, p.parents);
        _recordVersion(assetId, 0, msg.sender, p.contentCid, p.metadataCid);
        emit ListingSet(assetId, terms.token, terms.price, terms.duration);
    }

    /// @notice Appends a new version (owner only).
    function addVersion(uint256 assetId, bytes calldata contentCid, bytes calldata metadataCid)
        external
        returns (uint256 index)
    {
        AssetRecord storage rec = _ownedBySender(assetId);
        index = _appendVersion(rec, assetId, msg.sender, contentCid, metadataCid);
    }

    /// @notice Replaces the metadata CID of the latest version (owner only). The content is unchanged.
    function updateMetadata(uint256 assetId, bytes calldata metadataCid) external {
        _ownedBySender(assetId);
        if (metadataCid.length == 0) revert EmptyCid();
        _metadataHashes[assetId] = keccak256(metadataCid);
        emit MetadataUpdated(assetId, metadataCid);
    }

    /// @notice Changes the access gateway URL (owner only). An encrypted asset cannot drop it.
    function setGateway(uint256 assetId, string calldata gatewayUrl) external {
        AssetRecord storage rec = _ownedBySender(assetId);
        if (rec.encrypted && bytes(gatewayUrl).length == 0) revert MissingGateway();
        emit GatewayChanged(assetId, gatewayUrl);
    }

    /// @notice Deprecates the asset (owner only): no more sales or proposals; licenses stay valid.
    function deprecate(uint256 assetId) external {
        AssetRecord storage rec = _ownedBySender(assetId);
        if (rec.deprecated) revert Deprecated(assetId);
        rec.deprecated = true;
        emit AssetDeprecated(assetId);
    }

    // ------------------------------------------------------------------ listings and licenses

    /// @notice Creates or changes the listing in `token` (owner only). Price 0 makes the asset free.
    function setListing(uint256 assetId, address token, uint128 price, uint64 duration) external {
        AssetRecord storage rec = _ownedBySender(assetId);
        if (token != ETH && !_allowedToken[token]) revert TokenNotAllowed(token);
        Listing storage current = _listings[assetId][token];
        bool wasFree = current.active && current.price == 0;
        if (wasFree && price != 0) rec.freeListings -= 1;
        if (!wasFree && price == 0) rec.freeListings += 1;
        current.price = price;
        current.duration = duration;
        current.active = true;
        emit ListingSet(assetId, token, price, duration);
    }

    /// @notice Removes the listing in `token` (owner only).
    function removeListing(uint256 assetId, address token) external {
        AssetRecord storage rec = _ownedBySender(assetId);
        Listing storage current = _listings[assetId][token];
        if (!current.active) revert NotListed(assetId, token);
        if (current.price == 0) rec.freeListings -= 1;
        delete _listings[assetId][token];
        emit ListingRemoved(assetId, token);
    }

    /// @notice Buys or renews a license on the terms the buyer read, reverting if any changed since:
    /// the price is above `maxPrice`, the license is shorter than `minDuration` seconds (PERPETUAL: the
    /// buyer read a perpetual license; 0: any), or the card's metadata CID no longer hashes (keccak256)
    /// to `metadataHash`. Pays the listed price in `token` (ether must be sent exactly; an ERC-20 needs
    /// an allowance and must arrive in full). A timed license is extended from its current expiry if
    /// unexpired, else from now.
    /// @return expiry the license's new expiry (PERPETUAL for a perpetual license)
    function buy(uint256 assetId, address token, uint256 maxPrice, uint64 minDuration, bytes32 metadataHash)
        external
        payable
        nonReentrant
        returns (uint64 expiry)
    {
        AssetRecord storage rec = _existing(assetId);
        if (rec.deprecated) revert Deprecated(assetId);
        Listing memory offer = _listings[assetId][token];
        if (!offer.active) revert NotListed(assetId, token);
        uint256 price = offer.price;
        if (price > maxPrice) revert PriceTooHigh(price, maxPrice);
        if ((offer.duration == 0 ? PERPETUAL : offer.duration) < minDuration) {
            revert DurationTooShort(offer.duration, minDuration);
        }
        bytes32 card = _metadataHashes[assetId];
        if (card != 0 && card != metadataHash) revert MetadataChanged(card, metadataHash);
        uint256 expectedValue = token == ETH ? price : 0;
        if (msg.value != expectedValue) revert WrongPayment(msg.value, expectedValue);

        uint64 current = _licenses[assetId][msg.sender];
        if (current == PERPETUAL) revert AlreadyPerpetual(assetId, msg.sender);
        if (offer.duration == 0) {
            expiry = PERPETUAL;
        } else {
            uint256 start = current > block.timestamp ? current : block.timestamp;
            uint256 end = start + offer.duration;
            expiry = end >= PERPETUAL ? PERPETUAL - 1 : uint64(end);
        }
        _licenses[assetId][msg.sender] = expiry;
        emit LicensePurchased(assetId, msg.sender, token, price, expiry);

        if (price != 0) {
            uint256 fee = (price * feeBps) / BPS;
            if (fee != 0) {
                _feesOwed[token] += fee;
                emit FeeCharged(token, fee);
            }
            _distribute(assetId, rec, token, price - fee);
            if (token != ETH) _pull(IERC20(token), price);
        }
    }

    // ------------------------------------------------------------------ revenue

    /// @notice Moves `amount` shares of `assetId` from the caller to `to`. Revenue earned so far stays
    /// with the caller; only revenue credited afterwards follows the shares.
    function transferShares(uint256 assetId, address to, uint96 amount) external {
        _existing(assetId);
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroShares(to);
        Holding storage from = _holdings[assetId][msg.sender];
        if (from.shares < amount) revert InsufficientShares(assetId, msg.sender, from.shares, amount);
        Holding storage dest = _holdings[assetId][to];
        _checkpoint(_shareHistory[assetId][msg.sender], from.shares);
        _checkpoint(_shareHistory[assetId][to], dest.shares);

        int256 ethMove = int256(uint256(amount) * _pools[assetId][ETH].perShare);
        from.shares -= amount;
        from.ethDebt = (int256(from.ethDebt) - ethMove).toInt160();
        dest.shares += amount;
        dest.ethDebt = (int256(dest.ethDebt) + ethMove).toInt160();
        uint256 n = _paymentTokens.length;
        for (uint256 i; i < n; ++i) {
            address token = _paymentTokens[i];
            uint256 perShare = _pools[assetId][token].perShare;
            if (perShare == 0) continue;
            int256 move = int256(uint256(amount) * perShare);
            _tokenDebt[assetId][token][msg.sender] -= move;
            _tokenDebt[assetId][token][to] += move;
        }
        emit SharesTransferred(assetId, msg.sender, to, amount);
    }

    /// @notice Withdraws everything `msg.sender` may claim from `assetId` in `token`.
    /// @dev Checks-effects-interactions: the debt is settled before the payment, so a re-entrant
    /// call finds nothing left to withdraw.
    function withdraw(uint256 assetId, address token) external returns (uint256 amount) {
        amount = _settle(assetId, token);
        if (amount == 0) revert NothingToWithdraw(assetId, msg.sender, token);
        _payCaller(token, amount);
    }

    /// @notice Withdraws the caller's claims on several assets in `token` with one payment. The caller
    /// names the assets (the SDK or the indexer knows which it holds), so the loop is bounded by the caller.
    function withdrawMany(uint256[] calldata assetIds, address token) external returns (uint256 amount) {
        for (uint256 i; i < assetIds.length; ++i) {
            amount += _settle(assetIds[i], token);
        }
        if (amount == 0) revert NothingToWithdraw(0, msg.sender, token);
        _payCaller(token, amount);
    }

    /// @notice Withdraws the marketplace fees owed in `token` (fee recipient only).
    function withdrawFees(address token) external nonReentrant returns (uint256 amount) {
        if (msg.sender != feeRecipient) revert NotFeeRecipient(msg.sender);
        amount = _feesOwed[token];
        if (amount == 0) revert NothingToWithdraw(0, msg.sender, token);
        _feesOwed[token] = 0;
        emit FeesWithdrawn(msg.sender, token, amount);
        _payCaller(token, amount);
    }

    // ------------------------------------------------------------------ proposals

    /// @notice Proposes a new version of an asset. Votes count the shares held at the end of the
    /// previous block, so shares moved afterwards cannot vote twice.
    function propose(
        uint256 assetId,
        bytes calldata contentCid,
        bytes calldata metadataCid,
        uint96 requestedShares,
        bytes calldata descriptionCid
    ) external returns (uint256 proposalId) {
        AssetRecord storage rec = _existing(assetId);
        if (rec.deprecated) revert Deprecated(assetId);
        if (contentCid.length == 0 || metadataCid.length == 0 || descriptionCid.length == 0) revert EmptyCid();
        uint256 newTotal = uint256(rec.totalShares) + requestedShares;
        if (newTotal > type(uint96).max) revert TooManyShares(newTotal, type(uint96).max);
        proposalId = _nextProposalId++;
        _storeProposal(proposalId, assetId, rec, requestedShares);
        Proposal storage prop = _proposals[proposalId];
        prop.contentCid = contentCid;
        prop.metadataCid = metadataCid;
        emit ProposalCreated(
            proposalId,
            assetId,
            msg.sender,
            contentCid,
            metadataCid,
            requestedShares,
            descriptionCid
        );
    }

    /// @notice Votes on an open proposal with the shares held at its snapshot block.
    function vote(uint256 proposalId, bool support) external {
        Proposal storage prop = _openProposal(proposalId);
        if (_voted[proposalId][msg.sender]) revert AlreadyVoted(proposalId, msg.sender);
        uint96 weight = sharesAt(prop.assetId, msg.sender, prop.snapshotBlock);
        if (weight == 0) revert NoVotingPower(proposalId, msg.sender);
        _voted[proposalId][msg.sender] = true;
        if (support) prop.yesVotes += weight;
        else prop.noVotes += weight;
        emit VoteCast(proposalId, msg.sender, support, weight);
    }

    /// @notice Executes a proposal that more than half of all shares (at its snapshot) voted for:
    /// appends the version with the proposer as author and mints the requested shares to the proposer.
    function execute(uint256 proposalId) external returns (uint256 versionIndex) {
        Proposal storage prop = _openProposal(proposalId);
        uint256 needed = uint256(prop.totalAtSnapshot) / 2 + 1;
        if (prop.yesVotes < needed) revert ProposalNotPassed(proposalId, prop.yesVotes, needed);
        uint256 assetId = prop.assetId;
        AssetRecord storage rec = _assets[assetId];
        if (rec.deprecated) revert Deprecated(assetId);
        prop.state = ProposalState.Executed;
        address proposer = prop.proposer;
        versionIndex = _appendVersion(rec, assetId, proposer, prop.contentCid, prop.metadataCid);
        emit ProposalExecuted(proposalId, versionIndex);
        uint96 minted = prop.requestedShares;
        if (minted != 0) _mintShares(rec, assetId, proposer, minted);
    }

    /// @notice Rejects an open proposal (asset owner only).
    function reject(uint256 proposalId) external {
        Proposal storage prop = _openProposal(proposalId);
        _ownedBySender(prop.assetId);
        prop.state = ProposalState.Rejected;
        emit ProposalRejected(proposalId);
    }

    // ------------------------------------------------------------------ views

    /// @notice Whether `account` may use the asset: its owner, a shareholder, the holder of an
    /// unexpired license, or anyone if the asset has a listing at price 0. False for unknown assets.
    function hasAccess(uint256 assetId, address account) external view returns (bool) {
        AssetRecord storage rec = _assets[assetId];
        if (rec.totalShares == 0) return false;
        if (rec.freeListings != 0) return true;
        if (_licenses[assetId][account] > block.timestamp) return true;
        if (_holdings[assetId][account].shares != 0) return true;
        return _ownerOf(assetId) == account;
    }

    /// @notice What `account` can withdraw from `assetId` in `token` right now.
    function claimable(uint256 assetId, address account, address token) public view returns (uint256) {
        uint256 earned = uint256(_holdings[assetId][account].shares) * _pools[assetId][token].perShare;
        int256 debt = token == ETH ? int256(_holdings[assetId][account].ethDebt) : _tokenDebt[assetId][token][account];
        return uint256(int256(earned) - debt);
    }

    /// @notice Sum of `claimable(assetIds[i], account, token)`: what `withdrawMany` would pay if each
    /// asset is named once (a repeated id is counted again here, but paid once there).
    function claimableMany(uint256[] calldata assetIds, address account, address token)
        external
        view
        returns (uint256 total)
    {
        for (uint256 i; i < assetIds.length; ++i) {
            total += claimable(assetIds[i], account, token);
        }
    }

    /// @notice The stored record of an asset.
    function assetRecord(uint256 assetId) external view returns (AssetRecord memory) {
        AssetRecord memory rec = _assets[assetId];
        if (rec.totalShares == 0) revert UnknownAsset(assetId);
        return rec;
    }

    /// @notice The `index`-th parent of an asset.
    function parentOf(uint256 assetId, uint256 index) external view returns (ParentRef memory) {
        ParentLink memory link = _parents[assetId][index];
        return ParentRef(link.assetId, link.royaltyBps);
    }

    /// @notice keccak256(abi.encode(contentCid, metadataCid, author, timestamp)) of a version.
    function versionCommitment(uint256 assetId, uint256 index) external view returns (bytes32) {
        return _versions[assetId][index];
    }

    /// @notice The listing of an asset in a token.
    function listing(uint256 assetId, address token) external view returns (Listing memory) {
        return _listings[assetId][token];
    }

    /// @notice keccak256 of the metadata CID `buy` compares with, once the card changed after publish
    /// (zero while the card is the one published).
    function metadataHashOf(uint256 assetId) external view returns (bytes32) {
        return _metadataHashes[assetId];
    }

    /// @notice License expiry of `account` on `assetId` (0: none, PERPETUAL: never expires).
    function licenseExpiry(uint256 assetId, address account) external view returns (uint64) {
        return _licenses[assetId][account];
    }

    /// @notice Current shares of `account` in `assetId`.
    function sharesOf(uint256 assetId, address account) external view returns (uint96) {
        return _holdings[assetId][account].shares;
    }

    /// @notice Shares of `account` in `assetId` at the end of block `blockNumber`.
    function sharesAt(uint256 assetId, address account, uint256 blockNumber) public view returns (uint96) {
        return _valueAt(_shareHistory[assetId][account], blockNumber, _holdings[assetId][account].shares);
    }

    /// @notice The revenue accumulator of `assetId` in `token`.
    function pool(uint256 assetId, address token) external view returns (Pool memory) {
        return _pools[assetId][token];
    }

    /// @notice Fees owed to the fee recipient in `token`.
    function feesOwed(address token) external view returns (uint256) {
        return _feesOwed[token];
    }

    /// @notice The allowed ERC-20 payment tokens, in the order they were allowed.
    function paymentTokens() external view returns (address[] memory) {
        return _paymentTokens;
    }

    /// @notice Whether `token` is accepted for listings (ETH always is).
    function isPaymentToken(address token) external view returns (bool) {
        return token == ETH || _allowedToken[token];
    }

    /// @notice Id the next published asset will get.
    function nextAssetId() external view returns (uint256) {
        return _nextAssetId;
    }

    /// @notice A proposal, with `state` Expired once its deadline passed while open.
    function proposal(uint256 proposalId) external view returns (Proposal memory prop) {
        prop = _proposals[proposalId];
        // Enum states, not balances: equality is exact here.
        // slither-disable-next-line incorrect-equality
        if (prop.state == ProposalState.None) revert UnknownProposal(proposalId);
        // slither-disable-next-line incorrect-equality
        if (prop.state == ProposalState.Open && block.timestamp > prop.deadline) prop.state = ProposalState.Expired;
    }

    /// @notice Whether `voter` voted on `proposalId`.
    function hasVoted(uint256 proposalId, address voter) external view returns (bool) {
        return _voted[proposalId][voter];
    }

    // ------------------------------------------------------------------ internals

    function _existing(uint256 assetId) private view returns (AssetRecord storage rec) {
        rec = _assets[assetId];
        if (rec.totalShares == 0) revert UnknownAsset(assetId);
    }

    function _ownedBySender(uint256 assetId) private view returns (AssetRecord storage rec) {
        rec = _existing(assetId);
        if (_ownerOf(assetId) != msg.sender) revert NotAssetOwner(assetId, msg.sender);
    }

    function _openProposal(uint256 proposalId) private view returns (Proposal storage prop) {
        prop = _proposals[proposalId];
        ProposalState state = prop.state;
        if (state == ProposalState.None) revert UnknownProposal(proposalId);
        if (state == ProposalState.Open && block.timestamp > prop.deadline) state = ProposalState.Expired;
        if (state != ProposalState.Open) revert ProposalNotOpen(proposalId, state);
    }

    function _storeProposal(uint256 proposalId, uint256 assetId, AssetRecord storage rec, uint96 requestedShares)
        private
    {
        uint48 snapshot = uint48(block.number - 1);
        _proposals[proposalId].assetId = assetId;
        Proposal storage prop = _proposals[proposalId];
        prop.proposer = msg.sender;
        prop.snapshotBlock = snapshot;
        prop.deadline = uint48(block.timestamp + VOTING_PERIOD);
        prop.state = ProposalState.Open;
        prop.requestedShares = requestedShares;
        prop.totalAtSnapshot = _valueAt(_totalHistory[assetId], snapshot, rec.totalShares);
    }

    function _appendVersion(
        AssetRecord storage rec,
        uint256 assetId,
        address author,
        bytes memory contentCid,
        bytes memory metadataCid
    ) private returns (uint256 index) {
        if (contentCid.length == 0 || metadataCid.length == 0) revert EmptyCid();
        index = rec.versionCount;
        rec.versionCount = uint32(index + 1);
        _metadataHashes[assetId] = keccak256(metadataCid);
        _recordVersion(assetId, index, author, contentCid, metadataCid);
    }

    function _recordVersion(
        uint256 assetId,
        uint256 index,
        address author,
        bytes memory contentCid,
        bytes memory metadataCid
    ) private {
        bytes32 commitment = keccak256(abi.encode(contentCid, metadataCid, author, block.timestamp));
        _versions[assetId][index] = commitment;
        emit VersionAdded(assetId, index, author, contentCid, metadataCid, commitment);
    }

    function _mintShares(AssetRecord storage rec, uint256 assetId, address to, uint96 amount) private {
        _checkpoint(_totalHistory[assetId], rec.totalShares);
        Holding storage h = _holdings[assetId][to];
        _checkpoint(_shareHistory[assetId][to], h.shares);
        rec.totalShares += amount;
        h.shares += amount;
        h.ethDebt = (int256(h.ethDebt) + int256(uint256(amount) * _pools[assetId][ETH].perShare)).toInt160();
        uint256 n = _paymentTokens.length;
        for (uint256 i; i < n; ++i) {
            address token = _paymentTokens[i];
            uint256 perShare = _pools[assetId][token].perShare;
            if (perShare != 0) _tokenDebt[assetId][token][to] += int256(uint256(amount) * perShare);
        }
        emit SharesTransferred(assetId, address(0), to, amount);
    }

    /// @dev Credits `amount` to an asset: each parent takes its royalty (recursively, bounded by
    /// MAX_DEPTH and MAX_UPSTREAM checked at publish), the rest goes to the asset's own shareholders.
    /// Royalties are rounded down, so their rounding stays with the asset's own shareholders.
    function _distribute(uint256 assetId, AssetRecord storage rec, address token, uint256 amount) private {
        uint256 parentCount = rec.parentCount;
        uint256 upstream = 0;
        for (uint256 i; i < parentCount; ++i) {
            ParentLink memory parent = _parents[assetId][i];
            uint256 royalty = (amount * parent.royaltyBps) / BPS;
            if (royalty == 0) continue;
            upstream += royalty;
            emit RoyaltyPaid(parent.assetId, assetId, token, royalty);
            _distribute(parent.assetId, _assets[parent.assetId], token, royalty);
        }
        uint256 own = amount - upstream;
        if (own == 0) return;
        Pool memory p = _pools[assetId][token];
        uint256 total = rec.totalShares;
        uint256 available = own + p.remainder;
        // The remainder is below `total`, so it fits in 96 bits.
        _pools[assetId][token] = Pool(SafeCast.toUint160(p.perShare + available / total), uint96(available % total));
        emit RevenueCredited(assetId, token, own);
    }

    /// @dev Settles the caller's claim on `assetId` in `token`: zeroes it and returns it (emitting
    /// Withdrawn when non-zero). The payment follows in the caller.
    function _settle(uint256 assetId, address token) private returns (uint256 amount) {
        Holding storage h = _holdings[assetId][msg.sender];
        uint256 earned = uint256(h.shares) * _pools[assetId][token].perShare;
        if (token == ETH) {
            amount = (int256(earned) - h.ethDebt).toUint256();
            if (amount == 0) return 0;
            h.ethDebt = int256(earned).toInt160();
        } else {
            mapping(address => int256) storage debts = _tokenDebt[assetId][token];
            amount = (int256(earned) - debts[msg.sender]).toUint256();
            if (amount == 0) return 0;
            debts[msg.sender] = int256(earned);
        }
        emit Withdrawn(assetId, msg.sender, token, amount);
    }

    /// @dev Pays `amount` of `token` to msg.sender, the only account this contract ever pays.
    function _payCaller(address token, uint256 amount) private {
        if (token == ETH) {
            // A plain call forwards enough gas for contract wallets; state is settled before it.
            // A call, not transfer/send, so contract wallets get enough gas. Slither: the destination is msg.sender and the amount what it is owed, settled before this call.
            // slither-disable-next-line arbitrary-send-eth
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert PaymentFailed(msg.sender, amount);
        } else {
            IERC20(token).safeTransfer(msg.sender, amount);
        }
    }

    /// @dev Takes `amount` of `token` from msg.sender (the last step of a purchase, after its effects) and
    /// reverts unless exactly `amount` arrived, so a fee-on-transfer token cannot be credited more than it paid.
    function _pull(IERC20 token, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert ReceivedWrongAmount(address(token), received, amount);
    }

    /// @dev Records `valueBefore` for the current block unless a change in this block already did.
    function _checkpoint(Checkpoint[] storage history, uint96 valueBefore) private {
        uint256 len = history.length;
        // A block number, not a balance: equality is exact here.
        // slither-disable-next-line incorrect-equality
        if (len != 0 && history[len - 1].blockNumber == block.number) return;
        history.push(Checkpoint(uint48(block.number), valueBefore));
    }

    /// @dev The value at the end of `blockNumber`: the `valueBefore` of the first change after it,
    /// or the current value if nothing changed since.
    function _valueAt(Checkpoint[] storage history, uint256 blockNumber, uint96 current) private view returns (uint96) {
        uint256 low = 0;
        uint256 high = history.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (history[mid].blockNumber > blockNumber) high = mid;
            else low = mid + 1;
        }
        return low == history.length ? current : history[low].valueBefore;
    }
}
