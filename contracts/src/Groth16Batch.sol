// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

/// @title Groth16Batch: many BN254 Groth16 proofs, of one or more keys, in one pairing check.
/// @notice For proofs i of a key with public inputs x_i, each proof states
///   e(A_i, B_i) = e(alpha, beta) * e(L_i, gamma) * e(C_i, delta),  L_i = IC_0 + sum_j x_ij IC_{j+1}.
/// A random linear combination with coefficients rho_i checks all of them at once:
///   prod_i e(rho_i A_i, B_i) * e(-(sum_i rho_i) alpha, beta) * e(-sum_i rho_i L_i, gamma)
///     * e(-sum_i rho_i C_i, delta) = 1,
/// where sum_i rho_i L_i = (sum_i rho_i) IC_0 + sum_j (sum_i rho_i x_ij) IC_{j+1}: public inputs
/// cost field multiplications, and each key costs n+2 scalar multiplications in all, not per
/// proof. The coefficients are Fiat-Shamir challenges: keccak-256 over every proof and every
/// public input of every group (and the keys' addresses), reduced mod r (254 bits); the first
/// proof's coefficient is 1. A false proof passes with probability about 1/r.
/// @dev Verifying keys live in the code of data contracts (see `deployKey`): reading one costs an
/// EXTCODECOPY, not a storage read per word. Key layout, in 32-byte words:
///   n (public inputs), alpha (x, y), beta, gamma, delta (G2 as x.c1, x.c0, y.c1, y.c0),
///   IC_0 .. IC_n (x, y).
library Groth16Batch {
    /// The BN254 base field modulus p.
    uint256 internal constant P =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// The BN254 scalar field modulus r.
    uint256 internal constant R =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// Words of a proof: A (x, y), B (x.c1, x.c0, y.c1, y.c0), C (x, y).
    uint256 internal constant PROOF_WORDS = 8;

    /// One key's proofs: `proofs` holds PROOF_WORDS words per proof, `inputs` n per proof.
    struct Group {
        address key;
        uint256[] proofs;
        uint256[] inputs;
    }

    /// Running state of a verification: the challenge seed, the pairing input being written,
    /// the next pair and the number of proofs so far.
    struct State {
        bytes32 seed;
        uint256[] pairs;
        uint256 next;
        uint256 counter;
    }

    error BadKey();
    error BadShape();
    error InputNotInField();
    error IdentityPoint();
    error PrecompileFailed();

    /// Deploys `key` (the layout above) as the code of a data contract and returns its address.
    function deployKey(bytes memory key) internal returns (address a) {
        if (key.length < 32 * 17 || key.length % 32 != 0 || key.length >= 24576) revert BadKey();
        uint256 n;
        assembly ("memory-safe") {
            n := mload(add(key, 32))
        }
        if (key.length != 32 * (15 + 2 * (n + 1))) revert BadKey();
        // init code: copy the runtime (0x00 || key) from after itself and return it
        bytes memory code = abi.encodePacked(
            hex"61", uint16(key.length + 1), // PUSH2 size
            hex"80", // DUP1
            hex"600c", // PUSH1 12 (offset of the runtime in this code)
            hex"6000", // PUSH1 0
            hex"39", // CODECOPY
            hex"6000", // PUSH1 0
            hex"f3", // RETURN
            hex"00", // runtime: STOP, so the data can never run
            key
        );
        assembly ("memory-safe") {
            a := create(0, add(code, 32), mload(code))
        }
        if (a == address(0)) revert BadKey();
    }

    /// Reads a key deployed by `deployKey`.
    function loadKey(address a) internal view returns (uint256[] memory k) {
        uint256 size = a.code.length;
        if (size < 1 + 32 * 17 || (size - 1) % 32 != 0) revert BadKey();
        uint256 first;
        assembly ("memory-safe") {
            extcodecopy(a, 0x00, 0, 1)
            first := byte(0, mload(0x00))
        }
        if (first != 0) revert BadKey(); // a data contract's code starts with STOP
        uint256 words = (size - 1) / 32;
        k = new uint256[](words);
        assembly ("memory-safe") {
            extcodecopy(a, add(k, 32), 1, sub(size, 1))
        }
        if (words != 15 + 2 * (k[0] + 1)) revert BadKey();
    }

    /// True when every proof of every group verifies under its group's key. Reverts on malformed
    /// input (a count that does not match a key, a public input not below r, a point off the
    /// curve or the identity).
    /// A revert is a rejection too. `Group.key` must be a key this contract deployed (from its own
    /// storage), never an address a caller supplies.
    function verify(Group[] memory groups) internal view returns (bool) {
        if (groups.length == 0) revert BadShape();
        uint256 total;
        bytes32 seed = keccak256("zkpay/v1/groth16-batch");
        uint256[][] memory keys = new uint256[][](groups.length);
        for (uint256 g = 0; g < groups.length; g++) {
            Group memory gr = groups[g];
            keys[g] = loadKey(gr.key);
            uint256 n = keys[g][0];
            uint256 count = gr.proofs.length / PROOF_WORDS;
            if (gr.proofs.length % PROOF_WORDS != 0 || gr.inputs.length != count * n || count == 0) {
                revert BadShape();
            }
            total += count;
            seed = keccak256(abi.encode(seed, gr.key, keccak256(abi.encodePacked(gr.proofs)),
                keccak256(abi.encodePacked(gr.inputs))));
        }
        // pairing input: 6 words per pair, one pair per proof and three per group
        State memory st = State(seed, new uint256[](6 * (total + 3 * groups.length)), 0, 0);
        for (uint256 g = 0; g < groups.length; g++) {
            _group(groups[g], keys[g], st);
        }
        return _pairing(st.pairs);
    }

    /// Writes one group's pairs at `st.next`; `st.counter` numbers the proofs overall.
    function _group(Group memory gr, uint256[] memory k, State memory st) private view {
        uint256[] memory s = new uint256[](k[0]); // sum_i rho_i x_ij
        // rho sum, then sum_i rho_i C_i (x, y; starts at the identity)
        uint256[3] memory acc;
        uint256 count = gr.proofs.length / PROOF_WORDS;
        for (uint256 i = 0; i < count; i++) {
            uint256 rho = st.counter == 0 ? 1 : uint256(keccak256(abi.encode(st.seed, st.counter))) % R;
            st.counter++;
            (uint256 pp, uint256 xp, uint256 w) = _pointers(gr, st, i, s.length);
            _proof(pp, xp, rho, s, w, acc);
        }
        uint256[] memory pairs = st.pairs;
        // -(rho_sum) alpha with beta
        (uint256 px, uint256 py) = _mul(k[1], k[2], acc[0]);
        _put(pairs, st.next++, px, _neg(py), k, 3);
        // -(sum_i rho_i L_i) with gamma, L summed as rho_sum IC_0 + sum_j s_j IC_{j+1}
        (px, py) = _mul(k[15], k[16], acc[0]);
        for (uint256 j = 0; j < s.length; j++) {
            (uint256 qx, uint256 qy) = _mul(k[17 + 2 * j], k[18 + 2 * j], s[j]);
            (px, py) = _add(px, py, qx, qy);
        }
        _put(pairs, st.next++, px, _neg(py), k, 7);
        // -(sum_i rho_i C_i) with delta
        _put(pairs, st.next++, acc[1], _neg(acc[2]), k, 11);
    }

    /// Memory pointers to proof `i` of `gr`, to its inputs (`n` per proof), and to the next
    /// pair of `st` (which it takes).
    function _pointers(Group memory gr, State memory st, uint256 i, uint256 n)
        private
        pure
        returns (uint256 pp, uint256 xp, uint256 w)
    {
        uint256[] memory pr = gr.proofs;
        uint256[] memory xs = gr.inputs;
        uint256[] memory pairs = st.pairs;
        uint256 idx = st.next++;
        assembly ("memory-safe") {
            pp := add(add(pr, 32), mul(i, 256))
            xp := add(add(xs, 32), mul(mul(i, n), 32))
            w := add(add(pairs, 32), mul(idx, 192))
        }
    }

    /// One proof (its 8 words at memory `pp`, its inputs at `xp`) with coefficient `rho`: the
    /// pair at memory `w` := (rho A, B); adds rho to acc[0], rho C to (acc[1], acc[2]) and
    /// rho x_j to s[j].
    function _proof(uint256 pp, uint256 xp, uint256 rho, uint256[] memory s, uint256 w, uint256[3] memory acc)
        private
        view
    {
        bool ok;
        bool badPoint;
        bool badInput;
        assembly ("memory-safe") {
            badPoint := or(
                or(iszero(or(mload(pp), mload(add(pp, 32)))), iszero(or(mload(add(pp, 192)), mload(add(pp, 224))))),
                iszero(or(or(mload(add(pp, 64)), mload(add(pp, 96))), or(mload(add(pp, 128)), mload(add(pp, 160)))))
            )
        }
        assembly ("memory-safe") {
            let r := 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001
            mstore(acc, addmod(mload(acc), rho, r))
            let m := mload(0x40)
            // the pair: rho A, then B as given
            mstore(m, mload(pp))
            mstore(add(m, 32), mload(add(pp, 32)))
            mstore(add(m, 64), rho)
            // (Yul evaluates arguments right to left: returndatasize() only after the call)
            ok := staticcall(gas(), 7, m, 96, w, 64)
            ok := and(ok, eq(returndatasize(), 64))
            mcopy(add(w, 64), add(pp, 64), 128)
            // acc.C += rho C
            mstore(m, mload(add(pp, 192)))
            mstore(add(m, 32), mload(add(pp, 224)))
            mstore(add(m, 64), rho)
            ok := and(ok, staticcall(gas(), 7, m, 96, add(m, 64), 64))
            ok := and(ok, eq(returndatasize(), 64))
            mstore(m, mload(add(acc, 32)))
            mstore(add(m, 32), mload(add(acc, 64)))
            ok := and(ok, staticcall(gas(), 6, m, 128, add(acc, 32), 64))
            ok := and(ok, eq(returndatasize(), 64))
        }
        assembly ("memory-safe") {
            let r := 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001
            let end := add(xp, mul(mload(s), 32))
            let q := add(s, 32)
            for {} lt(xp, end) {
                xp := add(xp, 32)
                q := add(q, 32)
            } {
                let x := mload(xp)
                badInput := or(badInput, iszero(lt(x, r)))
                mstore(q, addmod(mload(q), mulmod(rho, x, r), r))
            }
        }
        if (badPoint) revert IdentityPoint();
        if (badInput) revert InputNotInField();
        if (!ok) revert PrecompileFailed();
    }

    /// Pair `idx` := (G1 point (x, y), the G2 point at key words g2..g2+3).
    function _put(uint256[] memory pairs, uint256 idx, uint256 x, uint256 y, uint256[] memory k, uint256 g2)
        private
        pure
    {
        uint256 w = 6 * idx;
        pairs[w] = x;
        pairs[w + 1] = y;
        pairs[w + 2] = k[g2];
        pairs[w + 3] = k[g2 + 1];
        pairs[w + 4] = k[g2 + 2];
        pairs[w + 5] = k[g2 + 3];
    }

    function _neg(uint256 y) private pure returns (uint256) {
        return y == 0 ? 0 : P - (y % P);
    }

    function _mul(uint256 x, uint256 y, uint256 s) private view returns (uint256 rx, uint256 ry) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, x)
            mstore(add(m, 32), y)
            mstore(add(m, 64), s)
            ok := staticcall(gas(), 0x07, m, 96, m, 64)
            ok := and(ok, eq(returndatasize(), 64))
            rx := mload(m)
            ry := mload(add(m, 32))
        }
        if (!ok) revert PrecompileFailed();
    }

    function _add(uint256 x1, uint256 y1, uint256 x2, uint256 y2) private view returns (uint256 rx, uint256 ry) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, x1)
            mstore(add(m, 32), y1)
            mstore(add(m, 64), x2)
            mstore(add(m, 96), y2)
            ok := staticcall(gas(), 0x06, m, 128, m, 64)
            ok := and(ok, eq(returndatasize(), 64))
            rx := mload(m)
            ry := mload(add(m, 32))
        }
        if (!ok) revert PrecompileFailed();
    }

    function _pairing(uint256[] memory pairs) private view returns (bool) {
        bool ok;
        uint256 result;
        assembly ("memory-safe") {
            let len := mul(mload(pairs), 32)
            mstore(0x00, 0)
            ok := staticcall(gas(), 0x08, add(pairs, 32), len, 0x00, 32)
            ok := and(ok, eq(returndatasize(), 32))
            result := mload(0x00)
        }
        if (!ok) revert PrecompileFailed();
        return result == 1;
    }
}

/// @title Groth16BatchVerifier: a contract around `Groth16Batch` for keys fixed at deployment.
/// @notice `verify(g, proofs, inputs)` checks proofs of key `g`; `verifyTwo` checks proofs of
/// keys 0 and 1 in one pairing check (as the rollup checks a batch's payment and chunk proofs).
contract Groth16BatchVerifier {
    /// Data contracts holding the keys.
    address[] public keys;

    constructor(bytes[] memory vks) {
        for (uint256 i = 0; i < vks.length; i++) {
            keys.push(Groth16Batch.deployKey(vks[i]));
        }
    }

    /// Proofs of key `g` (8 words each) with their public inputs (n each, in proof order).
    function verify(uint256 g, uint256[] calldata proofs, uint256[] calldata inputs) external view returns (bool) {
        Groth16Batch.Group[] memory gs = new Groth16Batch.Group[](1);
        gs[0] = Groth16Batch.Group(keys[g], proofs, inputs);
        return Groth16Batch.verify(gs);
    }

    /// Proofs of key 0 and of key 1, in one pairing check.
    function verifyTwo(
        uint256[] calldata proofs0,
        uint256[] calldata inputs0,
        uint256[] calldata proofs1,
        uint256[] calldata inputs1
    ) external view returns (bool) {
        Groth16Batch.Group[] memory gs = new Groth16Batch.Group[](2);
        gs[0] = Groth16Batch.Group(keys[0], proofs0, inputs0);
        gs[1] = Groth16Batch.Group(keys[1], proofs1, inputs1);
        return Groth16Batch.verify(gs);
    }
}
