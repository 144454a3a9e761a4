// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

import {Groth16Batch} from "./Groth16Batch.sol";

/// @notice The ERC-20 calls the rollup makes.
interface IERC20Like {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function balanceOf(address account) external view returns (uint256);
    function decimals() external view returns (uint8);
}

/// @title ZkPayRollup: the zkpay base ledger on an EVM chain.
/// @notice Holds the committed note and nullifier roots, their cursors, a window of recent note
/// roots and the batch count. `commitBatch` takes a batch of payments and its chunk proofs; it
/// builds every public input itself from the calldata and its own state (the ext-data hash by
/// SHA-256 of the ext data, a chunk's inputs from the roots, cursors, nullifiers and
/// commitments), checks every payment proof and every chunk proof in one pairing check, refuses
/// a payment whose root is not recent or whose invoice was paid before (double spends are
/// refused by the chunk proofs: a nullifier already in the tree has no insertion), settles
/// deposits (debited from the depositor's escrow, only with the depositor's EIP-712 signature
/// of the payment), pays withdrawals and credits fees, and emits one event per batch with the
/// whole batch, from which wallets and nodes sync.
/// @dev Deposits come from an escrow, never from a token call inside a batch: an account first
/// moves tokens in with `fund`, and they leave only `releaseDelay` blocks after it asks
/// (`startRelease`, then `release`). A depositor therefore cannot make a batch carrying its
/// signed deposit revert by revoking an allowance or moving tokens once the sequencer has
/// screened it: what the sequencer saw unreleased stays debitable for `releaseDelay` blocks.
/// @dev Escape hatch: anyone may queue a transfer or withdrawal with `forcePayment` (its proof is
/// checked then; no two pending entries share a nullifier or an invoice tag). A batch consumes
/// queue entries in order: live ones as its first payments, dead ones (a nullifier spent by
/// another payment, an invoice paid meanwhile) skipped; it must consume every entry older than
/// `forceDelay` blocks, up to `MAX_FORCED_PER_BATCH`, so the queue always moves. An entry whose
/// nullifier was spent before it was queued is marked dead by anyone with `dropForced`, given the
/// batch that spent it. If the sequencer commits no batch for `sequencerTimeout` blocks, anyone
/// may commit batches (proving needs only public data).
contract ZkPayRollup {
    uint256 internal constant R = Groth16Batch.R;
    uint256 internal constant MAX_VALUE = type(uint64).max;
    uint256 internal constant MAX_CIPHERTEXT = 1024;
    /// Most overdue queue entries a batch must consume (the rest wait for the next batch).
    uint256 public constant MAX_FORCED_PER_BATCH = 16;
    /// Gas a withdrawal's token transfer may use (beyond it, or on failure, the amount is owed).
    uint256 internal constant TRANSFER_GAS = 100_000;
    /// secp256k1 group order / 2: the canonical (low) s of a signature.
    uint256 internal constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    bytes32 internal constant DEBIT_TYPEHASH =
        keccak256("Debit(address account,bytes32 asset,uint256 amount,bytes32 paymentId)");

    /// One payment: its public values, its ext data (fee recipient, public account, the two note
    /// ciphertexts), the depositor's signature (deposits only) and its proof.
    struct Payment {
        uint256 root;
        uint256[2] nullifiers;
        uint256[2] commitments;
        uint256 asset;
        int256 publicValue;
        uint64 fee;
        uint256 invoiceTag;
        address feeRecipient;
        /// The public account (deposits and withdrawals); zero for a private transfer.
        address publicAccount;
        bytes ciphertext0;
        bytes ciphertext1;
        /// 65 bytes r || s || v for a deposit; empty otherwise.
        bytes authorization;
        uint256[8] proof;
    }

    /// One chunk: the roots after it and its proof.
    struct Chunk {
        uint256 newNoteRoot;
        uint256 newNullifierRoot;
        uint256[8] proof;
    }

    /// An ERC-20 token standing for an asset: `scale` token units per asset unit.
    struct AssetInfo {
        address token;
        uint256 scale;
    }

    /// An escrow release asked for: at most `amount` asset units, paid from block `readyAt` on.
    struct Release {
        uint256 amount;
        uint256 readyAt;
    }

    /// A queued payment: its id, nullifiers, invoice tag and the block it was queued in.
    struct Forced {
        bytes32 paymentId;
        uint256 nf0;
        uint256 nf1;
        uint256 invoiceTag;
        uint256 blockNumber;
        /// Can no longer be included: skipped when consumed.
        bool dead;
    }

    // --- deployment parameters ---
    /// zkpay network id (in every ext data).
    uint32 public immutable networkId;
    /// Payment slots per chunk.
    uint256 public immutable slots;
    /// How many recent note roots payments may use.
    uint256 public immutable rootWindow;
    /// Blocks after which a queued payment must have been included.
    uint256 public immutable forceDelay;
    /// Blocks without a batch after which anyone may commit.
    uint256 public immutable sequencerTimeout;
    /// Blocks an account waits between asking for escrow back and receiving it.
    uint256 public immutable releaseDelay;
    /// Data contracts holding the payment and chunk verifying keys.
    address public immutable paymentKey;
    address public immutable chunkKey;
    address public immutable admin;
    address public immutable sequencer;

    // --- state ---
    uint256 public noteRoot;
    uint256 public nullifierRoot;
    uint256 public noteCursor;
    uint256 public nullifierCursor;
    uint256 public batchCount;
    uint256 public lastCommitBlock;
    /// Block of the sequencer's last commit (the timeout counts from it, not from anyone's).
    uint256 public lastSequencerCommit;
    /// Root => 1 + the batch count when it became the note root.
    mapping(uint256 => uint256) public rootSeq;
    /// Invoice tags paid.
    mapping(uint256 => bool) public invoicePaid;
    /// Batch number => keccak256 of its nullifiers (evidence for `dropForced`).
    mapping(uint256 => bytes32) public batchNullifiers;
    mapping(uint256 => AssetInfo) public assets;
    /// Asset => shielded pool (asset units).
    mapping(uint256 => uint256) public pool;
    /// Account => asset => escrowed amount (asset units) its signed deposits draw on.
    mapping(address => mapping(uint256 => uint256)) public escrow;
    /// Account => asset => the escrow release it asked for: at most `amount`, from block `readyAt`.
    mapping(address => mapping(uint256 => Release)) public releases;
    /// Token => account => amount owed (fees; withdrawals whose transfer failed).
    mapping(address => mapping(address => uint256)) public owed;
    Forced[] public forcedQueue;
    uint256 public forcedHead;
    /// Nullifier or invoice tag => 1 + the index of the pending queue entry that holds it.
    mapping(uint256 => uint256) public forcedPendingValue;
    bool transient locked;

    event AssetRegistered(uint256 indexed asset, address token, uint256 scale);
    /// Everything a wallet or node needs to follow batch `number`: the cursors before it and the
    /// batch itself (payments with their ciphertexts, chunks with their roots).
    event BatchCommitted(
        uint256 indexed number, uint256 noteStart, uint256 nullifierStart, Payment[] payments, Chunk[] chunks
    );
    event PaymentForced(uint256 indexed index, bytes32 paymentId, Payment payment);
    event ForcedDropped(uint256 indexed index, bytes32 paymentId);
    /// Queue entries `from..to` consumed by batch `number`.
    event ForcedConsumed(uint256 indexed number, uint256 from, uint256 to);
    event Claimed(address indexed token, address indexed account, address to, uint256 amount);
    event Escrowed(address indexed account, uint256 indexed asset, uint256 amount);
    /// `amount` 0 withdraws an earlier request.
    event ReleaseStarted(address indexed account, uint256 indexed asset, uint256 amount, uint256 readyAt);
    event Released(address indexed account, uint256 indexed asset, address to, uint256 amount);

    error NotAdmin();
    error NotSequencer();
    error AssetTaken();
    error UnknownAsset(uint256 asset);
    error BadBatchShape();
    error BadPayment(uint256 index, string why);
    error RootNotRecent(uint256 index);
    error InvoiceAlreadyPaid(uint256 index);
    error BadAuthorization(uint256 index);
    error Turnstile(uint256 index);
    error TokenTransferFailed(uint256 index);
    error EscrowShort(uint256 index);
    error ReleaseNotReady();
    error ForcedMismatch(uint256 index);
    error ForcedOverdue(uint256 queueIndex);
    error AlreadyQueued(uint256 value);
    error BadParameters();
    error NothingQueued();
    error NoEvidence();
    error ProofsRefused();
    error Reentered();

    modifier nonReentrant() {
        if (locked) revert Reentered();
        locked = true;
        _;
        locked = false;
    }

    constructor(
        uint32 networkId_,
        uint256 slots_,
        bytes memory paymentVk,
        bytes memory chunkVk,
        uint256 genesisNoteRoot,
        uint256 genesisNullifierRoot,
        uint256 rootWindow_,
        uint256 forceDelay_,
        uint256 sequencerTimeout_,
        uint256 releaseDelay_,
        address sequencer_
    ) {
        if (slots_ == 0 || rootWindow_ == 0) revert BadBatchShape();
        if (
            rootWindow_ > 1 << 40 || forceDelay_ > 1 << 40 || sequencerTimeout_ > 1 << 40 || releaseDelay_ > 1 << 40
                || releaseDelay_ == 0
        ) revert BadParameters();
        networkId = networkId_;
        slots = slots_;
        rootWindow = rootWindow_;
        forceDelay = forceDelay_;
        sequencerTimeout = sequencerTimeout_;
        releaseDelay = releaseDelay_;
        paymentKey = Groth16Batch.deployKey(paymentVk);
        chunkKey = Groth16Batch.deployKey(chunkVk);
        if (Groth16Batch.loadKey(paymentKey)[0] != 10 || Groth16Batch.loadKey(chunkKey)[0] != 6 + 4 * slots_) {
            revert Groth16Batch.BadKey();
        }
        admin = msg.sender;
        sequencer = sequencer_;
        noteRoot = genesisNoteRoot;
        nullifierRoot = genesisNullifierRoot;
        nullifierCursor = 2 * slots_;
        rootSeq[genesisNoteRoot] = 1;
        lastCommitBlock = block.number;
        lastSequencerCommit = block.number;
    }

    // ------------------------------------------------------------------ assets

    /// Registers the token of `asset` (once: an asset's token never changes). `assetDecimals`
    /// is the asset's own number of decimals; the token must have at least as many.
    function registerAsset(uint256 asset, address token, uint8 assetDecimals) external {
        if (msg.sender != admin) revert NotAdmin();
        if (assets[asset].token != address(0)) revert AssetTaken();
        uint8 td = IERC20Like(token).decimals();
        if (td < assetDecimals || td - assetDecimals > 18) revert UnknownAsset(asset);
        uint256 scale = 10 ** (td - assetDecimals);
        assets[asset] = AssetInfo(token, scale);
        emit AssetRegistered(asset, token, scale);
    }

    /// Pays out what `msg.sender` is owed in `token` (fees, withdrawals whose transfer failed).
    function claim(address token) external {
        claimTo(token, msg.sender);
    }

    /// Pays what `msg.sender` is owed in `token` to `to`, with all the gas left: an account the
    /// token will not pay (a blocked address) sends it elsewhere, and a token whose transfer
    /// needs more than a batch allows it (`TRANSFER_GAS`) still pays.
    function claimTo(address token, address to) public nonReentrant {
        uint256 amount = owed[token][msg.sender];
        owed[token][msg.sender] = 0;
        if (amount > 0 && !_transfer(token, to, amount, gasleft())) revert TokenTransferFailed(0);
        emit Claimed(token, msg.sender, to, amount);
    }

    // ------------------------------------------------------------------ escrow

    /// Moves `amount` asset units of `asset`'s token from `msg.sender` (which must have approved
    /// this contract) into its escrow, for its signed deposits to draw on. The contract must
    /// receive exactly that amount (a token that takes a fee on transfer is refused).
    function fund(uint256 asset, uint256 amount) external nonReentrant {
        AssetInfo memory a = assets[asset];
        if (a.token == address(0)) revert UnknownAsset(asset);
        if (amount == 0 || amount > MAX_VALUE) revert BadParameters();
        uint256 units = amount * a.scale;
        uint256 before = IERC20Like(a.token).balanceOf(address(this));
        if (!_transferFrom(a.token, msg.sender, units)) revert TokenTransferFailed(0);
        if (IERC20Like(a.token).balanceOf(address(this)) != before + units) revert TokenTransferFailed(0);
        escrow[msg.sender][asset] += amount;
        emit Escrowed(msg.sender, asset, amount);
    }

    /// Asks for up to `amount` of `msg.sender`'s escrow of `asset` back, payable `releaseDelay`
    /// blocks from now (batches may still debit it meanwhile: what they leave is paid). A new
    /// request replaces the last and starts the delay again; `amount` 0 withdraws it.
    function startRelease(uint256 asset, uint256 amount) external {
        if (amount > escrow[msg.sender][asset]) revert EscrowShort(0);
        uint256 readyAt = amount == 0 ? 0 : block.number + releaseDelay;
        releases[msg.sender][asset] = Release(amount, readyAt);
        emit ReleaseStarted(msg.sender, asset, amount, readyAt);
    }

    /// Pays `msg.sender`'s due release of `asset` to `to`: the amount asked for, or what
    /// batches left of the escrow if less, with all the gas left.
    function release(uint256 asset, address to) external nonReentrant {
        Release memory r = releases[msg.sender][asset];
        if (r.readyAt == 0 || block.number < r.readyAt) revert ReleaseNotReady();
        uint256 held = escrow[msg.sender][asset];
        uint256 amount = r.amount < held ? r.amount : held;
        escrow[msg.sender][asset] = held - amount;
        delete releases[msg.sender][asset];
        AssetInfo memory a = assets[asset];
        if (amount > 0 && !_transfer(a.token, to, amount * a.scale, gasleft())) revert TokenTransferFailed(0);
        emit Released(msg.sender, asset, to, amount);
    }

    // ------------------------------------------------------------------ batches

    /// Commits the next batch: `payments` in order, cut into chunks of `slots`, with their chunk
    /// proofs. The batch consumes the `forcedCount` oldest queue entries: the live ones are its
    /// first payments, in queue order; dead ones are skipped.
    function commitBatch(Payment[] calldata payments, Chunk[] calldata chunks, uint256 forcedCount) external nonReentrant {
        if (msg.sender != sequencer && block.number <= lastSequencerCommit + sequencerTimeout) revert NotSequencer();
        uint256 n = payments.length;
        uint256 c = slots;
        if (n == 0 || chunks.length != (n + c - 1) / c) revert BadBatchShape();
        uint256 live = _consumeForced(payments, forcedCount);

        Groth16Batch.Group[] memory groups = new Groth16Batch.Group[](2);
        groups[0] = Groth16Batch.Group(paymentKey, new uint256[](8 * n), new uint256[](10 * n));
        uint256 count = batchCount;
        bool queued = forcedHead < forcedQueue.length;
        // checks and effects: rules, signatures, invoices, pools, every public input
        for (uint256 i = 0; i < n; i++) {
            Payment calldata p = payments[i];
            _check(i, p, i < live, count);
            if (queued && i >= live) _killForced(p);
            _putPayment(groups[0], i, p);
        }
        groups[1] = _chunks(payments, chunks);
        if (!Groth16Batch.verify(groups)) revert ProofsRefused();
        _advance(payments, chunks);
        if (msg.sender == sequencer) lastSequencerCommit = block.number;
        // interactions: tokens move only after everything else
        for (uint256 i = 0; i < n; i++) {
            _pay(payments[i]);
        }
    }

    /// Consumes the `count` oldest queue entries: each live one must be the next of the batch's
    /// first payments (same payment id), each dead one is skipped. Every entry older than
    /// `forceDelay` blocks must be consumed, up to `MAX_FORCED_PER_BATCH`. Returns how many
    /// payments are queued ones.
    function _consumeForced(Payment[] calldata payments, uint256 count) internal returns (uint256 live) {
        uint256 head = forcedHead;
        uint256 len = forcedQueue.length;
        if (head + count > len) revert BadBatchShape();
        uint256 due = 0;
        while (due < MAX_FORCED_PER_BATCH && head + due < len
            && forcedQueue[head + due].blockNumber + forceDelay < block.number) {
            due++;
        }
        if (count < due) revert ForcedOverdue(head + count);
        for (uint256 k = head; k < head + count; k++) {
            Forced storage f = forcedQueue[k];
            bool dead = f.dead || (f.invoiceTag != 0 && invoicePaid[f.invoiceTag]);
            if (!dead) {
                if (live >= payments.length || paymentId(payments[live]) != f.paymentId) revert ForcedMismatch(live);
                live++;
            }
            delete forcedPendingValue[f.nf0];
            delete forcedPendingValue[f.nf1];
            if (f.invoiceTag != 0) delete forcedPendingValue[f.invoiceTag];
        }
        forcedHead = head + count;
        if (count > 0) emit ForcedConsumed(batchCount + 1, head, head + count);
    }

    /// A payment that is not a queued one spends its nullifiers: a pending queue entry holding
    /// one of them can never be included, and is marked dead.
    function _killForced(Payment calldata p) internal {
        for (uint256 j = 0; j < 2; j++) {
            uint256 e = forcedPendingValue[p.nullifiers[j]];
            if (e != 0) forcedQueue[e - 1].dead = true;
        }
    }

    /// The state after a verified batch, and its event.
    function _advance(Payment[] calldata payments, Chunk[] calldata chunks) internal {
        uint256 noteStart = noteCursor;
        uint256 nullifierStart = nullifierCursor;
        Chunk calldata last = chunks[chunks.length - 1];
        noteRoot = last.newNoteRoot;
        nullifierRoot = last.newNullifierRoot;
        uint256 grow = 2 * slots * chunks.length;
        noteCursor = noteStart + grow;
        nullifierCursor = nullifierStart + grow;
        uint256 count = batchCount + 1;
        batchCount = count;
        rootSeq[last.newNoteRoot] = count + 1;
        lastCommitBlock = block.number;
        batchNullifiers[count] = _nullifierHash(payments);
        emit BatchCommitted(count, noteStart, nullifierStart, payments, chunks);
    }

    /// keccak256 of the batch's nullifiers, two per payment in order.
    function _nullifierHash(Payment[] calldata payments) internal pure returns (bytes32) {
        uint256[] memory nfs = new uint256[](2 * payments.length);
        for (uint256 i = 0; i < payments.length; i++) {
            nfs[2 * i] = payments[i].nullifiers[0];
            nfs[2 * i + 1] = payments[i].nullifiers[1];
        }
        return keccak256(abi.encodePacked(nfs));
    }

    /// Chunk proofs and their inputs, built from the stored state and the payments.
    function _chunks(Payment[] calldata payments, Chunk[] calldata chunks)
        internal
        view
        returns (Groth16Batch.Group memory g)
    {
        uint256 c = slots;
        uint256 w = 6 + 4 * c;
        g = Groth16Batch.Group(chunkKey, new uint256[](8 * chunks.length), new uint256[](w * chunks.length));
        uint256 oldNote = noteRoot;
        uint256 oldNull = nullifierRoot;
        for (uint256 k = 0; k < chunks.length; k++) {
            Chunk calldata ch = chunks[k];
            uint256 b = w * k;
            g.inputs[b] = oldNote;
            g.inputs[b + 1] = oldNull;
            g.inputs[b + 2] = ch.newNoteRoot;
            g.inputs[b + 3] = ch.newNullifierRoot;
            g.inputs[b + 4] = noteCursor + 2 * c * k;
            g.inputs[b + 5] = nullifierCursor + 2 * c * k;
            for (uint256 s = 0; s < c; s++) {
                uint256 i = k * c + s;
                if (i >= payments.length) break; // empty slots stay 0
                Payment calldata p = payments[i];
                uint256 o = b + 6 + 4 * s;
                g.inputs[o] = p.nullifiers[0];
                g.inputs[o + 1] = p.nullifiers[1];
                g.inputs[o + 2] = p.commitments[0];
                g.inputs[o + 3] = p.commitments[1];
            }
            for (uint256 j = 0; j < 8; j++) {
                g.proofs[8 * k + j] = ch.proof[j];
            }
            oldNote = ch.newNoteRoot;
            oldNull = ch.newNullifierRoot;
        }
    }

    /// Writes payment `i`'s proof and its ten public inputs into the payment group.
    function _putPayment(Groth16Batch.Group memory g, uint256 i, Payment calldata p) internal view {
        uint256 b = 10 * i;
        g.inputs[b] = p.root;
        g.inputs[b + 1] = p.nullifiers[0];
        g.inputs[b + 2] = p.nullifiers[1];
        g.inputs[b + 3] = p.commitments[0];
        g.inputs[b + 4] = p.commitments[1];
        g.inputs[b + 5] = p.asset;
        g.inputs[b + 6] = _valueField(p.publicValue);
        g.inputs[b + 7] = p.fee;
        g.inputs[b + 8] = extDataHash(p);
        g.inputs[b + 9] = p.invoiceTag;
        for (uint256 j = 0; j < 8; j++) {
            g.proofs[8 * i + j] = p.proof[j];
        }
    }

    /// The ledger rules of one payment, with their effects on invoices and pools; returns the
    /// payment id for a forced payment or a deposit (0 otherwise, where nothing needs it).
    function _check(uint256 i, Payment calldata p, bool forced, uint256 count) internal returns (bytes32 id) {
        _checkShape(i, p);
        if (!forced) {
            uint256 seq = rootSeq[p.root];
            if (seq == 0 || count + 1 - seq >= rootWindow) revert RootNotRecent(i);
        }
        if (p.invoiceTag != 0) {
            if (invoicePaid[p.invoiceTag]) revert InvoiceAlreadyPaid(i);
            invoicePaid[p.invoiceTag] = true;
        }
        int256 v = p.publicValue;
        if ((v != 0 || p.fee != 0) && assets[p.asset].token == address(0)) revert UnknownAsset(p.asset);
        if (v > 0) id = paymentId(p);
        if (v > 0) {
            if (forced) revert BadPayment(i, "a queued payment cannot be a deposit");
            _checkDebit(i, p, id);
            uint256 held = escrow[p.publicAccount][p.asset];
            if (held < uint256(v)) revert EscrowShort(i);
            escrow[p.publicAccount][p.asset] = held - uint256(v);
            pool[p.asset] += uint256(v);
        }
        uint256 out = uint256(p.fee) + (v < 0 ? uint256(-v) : 0);
        if (out > 0) {
            uint256 pl = pool[p.asset];
            if (pl < out) revert Turnstile(i);
            pool[p.asset] = pl - out;
        }
    }

    /// Moves the tokens of a checked payment: pays a withdrawal (or owes it, when the transfer
    /// fails: a paused token or a blocked recipient must not stop the rollup) and owes the fee
    /// to its recipient. A deposit moves no token here: `_check` debited the escrow.
    function _pay(Payment calldata p) internal {
        int256 v = p.publicValue;
        if (v >= 0 && p.fee == 0) return;
        AssetInfo memory a = assets[p.asset];
        if (v < 0) {
            uint256 amount = uint256(-v) * a.scale;
            if (!_transfer(a.token, p.publicAccount, amount, TRANSFER_GAS)) owed[a.token][p.publicAccount] += amount;
        }
        if (p.fee > 0) owed[a.token][p.feeRecipient] += uint256(p.fee) * a.scale;
    }

    /// Encoding rules that need no state: ranges, nullifiers distinct, account iff public value,
    /// ciphertext sizes, values below r.
    function _checkShape(uint256 i, Payment calldata p) internal pure {
        int256 v = p.publicValue;
        if (v > int256(MAX_VALUE) || v < -int256(MAX_VALUE)) revert BadPayment(i, "public value out of range");
        if (p.nullifiers[0] == p.nullifiers[1]) revert BadPayment(i, "the two nullifiers are equal");
        if ((v != 0) != (p.publicAccount != address(0))) {
            revert BadPayment(i, "a public account goes with exactly the payments that move public value");
        }
        if (p.ciphertext0.length > MAX_CIPHERTEXT || p.ciphertext1.length > MAX_CIPHERTEXT) {
            revert BadPayment(i, "ciphertext longer than 1024 bytes");
        }
        if (v <= 0 && p.authorization.length != 0) revert BadPayment(i, "only a deposit carries a signature");
    }

    /// The EIP-712 domain of debit signatures: this contract on this chain, so that a signature
    /// for another deployment (or for the other chain of a fork) is worth nothing here.
    function domainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("zkpay"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
    }

    /// The depositor's EIP-712 signature of Debit(account, asset, amount, paymentId).
    function _checkDebit(uint256 i, Payment calldata p, bytes32 id) internal view {
        bytes calldata sig = p.authorization;
        if (sig.length != 65) revert BadAuthorization(i);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if ((v != 27 && v != 28) || uint256(s) > HALF_N) revert BadAuthorization(i);
        bytes32 digest = keccak256(
            abi.encodePacked(
                hex"1901",
                domainSeparator(),
                keccak256(abi.encode(DEBIT_TYPEHASH, p.publicAccount, p.asset, uint256(p.publicValue), id))
            )
        );
        address signer = ecrecover(digest, v, r, s);
        if (signer == address(0) || signer != p.publicAccount) revert BadAuthorization(i);
    }

    /// The canonical ext data bytes of a payment (protocol section 9).
    function extData(Payment calldata p) public view returns (bytes memory) {
        bytes memory account = p.publicValue != 0 ? abi.encodePacked(uint8(1), p.publicAccount) : abi.encodePacked(uint8(0));
        return abi.encodePacked(
            "zkpay/v2/ext-data",
            networkId,
            p.feeRecipient,
            account,
            uint16(p.ciphertext0.length),
            p.ciphertext0,
            uint16(p.ciphertext1.length),
            p.ciphertext1
        );
    }

    /// ext_data_hash = SHA-256(ext data bytes) mod r.
    function extDataHash(Payment calldata p) public view returns (uint256) {
        return uint256(sha256(extData(p))) % R;
    }

    /// The payment id: SHA-256("zkpay/v1/payment-id" || the ten public inputs || ext data).
    function paymentId(Payment calldata p) public view returns (bytes32) {
        bytes memory ext = extData(p);
        return sha256(
            abi.encodePacked(
                "zkpay/v1/payment-id",
                abi.encode(
                    p.root,
                    p.nullifiers[0],
                    p.nullifiers[1],
                    p.commitments[0],
                    p.commitments[1],
                    p.asset,
                    _valueField(p.publicValue),
                    uint256(p.fee),
                    uint256(sha256(ext)) % R,
                    p.invoiceTag
                ),
                ext
            )
        );
    }

    function _valueField(int256 v) internal pure returns (uint256) {
        return v >= 0 ? uint256(v) : R - uint256(-v);
    }

    // ------------------------------------------------------------------ escape hatch

    /// Queues a transfer or withdrawal for forced inclusion. Its proof is checked now against a
    /// recent root; the sequencer must include it within `forceDelay` blocks.
    function forcePayment(Payment calldata p) external nonReentrant returns (uint256 index) {
        _checkShape(0, p);
        if (p.publicValue > 0) revert BadPayment(0, "a queued payment cannot be a deposit");
        uint256 seq = rootSeq[p.root];
        if (seq == 0 || batchCount + 1 - seq >= rootWindow) revert RootNotRecent(0);
        if (p.invoiceTag != 0 && invoicePaid[p.invoiceTag]) revert InvoiceAlreadyPaid(0);
        if ((p.publicValue != 0 || p.fee != 0) && assets[p.asset].token == address(0)) revert UnknownAsset(p.asset);
        Groth16Batch.Group[] memory groups = new Groth16Batch.Group[](1);
        groups[0] = Groth16Batch.Group(paymentKey, new uint256[](8), new uint256[](10));
        _putPayment(groups[0], 0, p);
        if (!Groth16Batch.verify(groups)) revert ProofsRefused();
        bytes32 id = paymentId(p);
        index = forcedQueue.length;
        uint256[3] memory values = [p.nullifiers[0], p.nullifiers[1], p.invoiceTag];
        for (uint256 j = 0; j < 3; j++) {
            if (values[j] == 0) continue;
            if (forcedPendingValue[values[j]] != 0) revert AlreadyQueued(values[j]);
            forcedPendingValue[values[j]] = index + 1;
        }
        forcedQueue.push(Forced(id, p.nullifiers[0], p.nullifiers[1], p.invoiceTag, block.number, false));
        emit PaymentForced(index, id, p);
    }

    /// Marks pending queue entry `index` dead when one of its nullifiers was spent by committed
    /// batch `number`, whose nullifiers (two per payment, in order) are `nullifiers`, the `k`-th
    /// being the entry's (it was spent before it was queued; one spent later is marked dead by
    /// the batch that spends it). Anyone may call it.
    function dropForced(uint256 index, uint256 number, uint256[] calldata nullifiers, uint256 k) external nonReentrant {
        if (index < forcedHead || index >= forcedQueue.length) revert NothingQueued();
        Forced storage f = forcedQueue[index];
        if (f.dead) revert NothingQueued();
        bytes32 h = batchNullifiers[number];
        if (
            h == bytes32(0) || keccak256(abi.encodePacked(nullifiers)) != h || k >= nullifiers.length
                || (nullifiers[k] != f.nf0 && nullifiers[k] != f.nf1)
        ) revert NoEvidence();
        f.dead = true;
        emit ForcedDropped(index, f.paymentId);
    }

    /// Number of queued payments not yet included or dropped.
    function forcedPending() external view returns (uint256) {
        return forcedQueue.length - forcedHead;
    }

    // ------------------------------------------------------------------ tokens

    /// A token transfer with at most `gasLimit` gas and at most one word of return data read: in
    /// a batch (`TRANSFER_GAS`), a token (or a recipient hook) that burns gas or answers garbage
    /// fails the transfer, and the amount is owed instead, never the batch reverted.
    function _transfer(address token, address to, uint256 amount, uint256 gasLimit) internal returns (bool ok) {
        bytes memory data = abi.encodeCall(IERC20Like.transfer, (to, amount));
        assembly ("memory-safe") {
            mstore(0x00, 0)
            ok := call(gasLimit, token, 0, add(data, 32), mload(data), 0x00, 32)
            switch returndatasize()
            case 0 { ok := and(ok, gt(extcodesize(token), 0)) }
            default { ok := and(ok, and(gt(returndatasize(), 31), eq(mload(0x00), 1))) }
        }
    }

    /// A token transfer into this contract, the same checks as `_transfer` (a token that
    /// returns nothing must be a contract; one that returns must return exactly true).
    function _transferFrom(address token, address from, uint256 amount) internal returns (bool ok) {
        bytes memory data = abi.encodeCall(IERC20Like.transferFrom, (from, address(this), amount));
        assembly ("memory-safe") {
            mstore(0x00, 0)
            ok := call(gas(), token, 0, add(data, 32), mload(data), 0x00, 32)
            switch returndatasize()
            case 0 { ok := and(ok, gt(extcodesize(token), 0)) }
            default { ok := and(ok, and(gt(returndatasize(), 31), eq(mload(0x00), 1))) }
        }
    }
}

/// @title TestToken: a minimal ERC-20 for tests and `make demo-evm` (anyone may mint).
contract TestToken {
    string public name;
    string public symbol;
    uint8 public immutable decimals;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        emit Transfer(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 a = allowance[from][msg.sender];
        if (a != type(uint256).max) allowance[from][msg.sender] = a - amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
        return true;
    }
}

/// @title TestFeeToken: an ERC-20 that keeps 1 % of every `transferFrom` (tests only: the escrow
/// must refuse a token that delivers less than it was asked to move).
contract TestFeeToken {
    uint8 public constant decimals = 6;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        allowance[from][msg.sender] -= amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount - amount / 100;
        return true;
    }
}
