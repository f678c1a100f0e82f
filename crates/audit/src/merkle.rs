//! RFC 9162 §2.1 Merkle tree hashing: tree heads of any prefix, inclusion and consistency
//! proofs and their verification, and the compact range that extends a tree one leaf at a
//! time without rehashing what came before.

use sha2::{Digest, Sha256};

use crate::AuditError;

/// A SHA-256 value: a leaf hash, an interior node or a tree head.
pub type Hash = [u8; 32];

/// Domain separation prefix of leaf hashes (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain separation prefix of interior nodes.
const NODE_PREFIX: u8 = 0x01;

/// The head of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 || data)`: the hash of one leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two smaller than `n`, for `n >= 2`: where RFC 9162 splits a tree.
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// `MTH(D[n])`: the head of the tree whose leaves have these hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

fn index(value: u64, what: &str) -> Result<usize, AuditError> {
    usize::try_from(value).map_err(|_| AuditError::Range(format!("{what} {value} is too large")))
}

/// `PATH(m, D[n])`: the audit path of leaf `leaf_index` in the tree of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], leaf_index: u64) -> Result<Vec<Hash>, AuditError> {
    let m = index(leaf_index, "leaf index")?;
    if m >= leaves.len() {
        return Err(AuditError::Range(format!(
            "entry {leaf_index} is not in a tree of {} entries",
            leaves.len()
        )));
    }
    let mut proof = Vec::new();
    path(m, leaves, &mut proof);
    Ok(proof)
}

fn path(m: usize, leaves: &[Hash], proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, &leaves[..k], proof);
        proof.push(root(&leaves[k..]));
    } else {
        path(m - k, &leaves[k..], proof);
        proof.push(root(&leaves[..k]));
    }
}

/// `PROOF(m, D[n])`: that the tree of the first `old_size` of `leaves` is a prefix of the
/// tree of all of them. Empty when the sizes are equal.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, AuditError> {
    let m = index(old_size, "tree size")?;
    if m == 0 || m > leaves.len() {
        return Err(AuditError::Range(format!(
            "a consistency proof needs an old size from 1 to {}, not {old_size}",
            leaves.len()
        )));
    }
    let mut proof = Vec::new();
    subproof(m, leaves, true, &mut proof);
    Ok(proof)
}

fn subproof(m: usize, leaves: &[Hash], complete: bool, proof: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            proof.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &leaves[..k], complete, proof);
        proof.push(root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, proof);
        proof.push(root(&leaves[..k]));
    }
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2): leaf `leaf_index` with hash `leaf` is in
/// the tree of `tree_size` leaves whose head is `root`.
pub fn verify_inclusion(
    leaf_index: u64,
    tree_size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), AuditError> {
    if leaf_index >= tree_size {
        return Err(AuditError::Range(format!(
            "entry {leaf_index} is not in a tree of {tree_size} entries"
        )));
    }
    let (mut f_n, mut s_n) = (leaf_index, tree_size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(AuditError::Proof(
                "the proof is longer than the tree is deep".into(),
            ));
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(AuditError::Proof("the proof is too short".into()));
    }
    if r != *root {
        return Err(AuditError::Proof("it leads to another root".into()));
    }
    Ok(())
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): the tree of `size1` leaves with head
/// `root1` is a prefix of the tree of `size2` leaves with head `root2`.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), AuditError> {
    if size2 < size1 {
        return Err(AuditError::Range(format!(
            "the new size {size2} is smaller than the old size {size1}"
        )));
    }
    if size1 == 0 {
        return Err(AuditError::Range(
            "a consistency proof from the empty tree proves nothing".into(),
        ));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(AuditError::Proof("equal sizes need an empty proof".into()));
        }
        if root1 != root2 {
            return Err(AuditError::Proof("equal sizes with different roots".into()));
        }
        return Ok(());
    }
    let (first, rest) = if size1.is_power_of_two() {
        (root1, proof)
    } else {
        match proof.split_first() {
            Some(split) => split,
            None => return Err(AuditError::Proof("the proof is empty".into())),
        }
    };
    let (mut f_n, mut s_n) = (size1 - 1, size2 - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut f_r, mut s_r) = (*first, *first);
    for c in rest {
        if s_n == 0 {
            return Err(AuditError::Proof("the proof is too long".into()));
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(AuditError::Proof("the proof is too short".into()));
    }
    if f_r != *root1 {
        return Err(AuditError::Proof("it does not lead to the old root".into()));
    }
    if s_r != *root2 {
        return Err(AuditError::Proof("it does not lead to the new root".into()));
    }
    Ok(())
}

/// The right border of a tree: the heads of its perfect subtrees, largest first, one per set
/// bit of the size. Enough to append a leaf and to compute the head in O(log n).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    border: Vec<Hash>,
}

impl CompactRange {
    /// The range of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A range as stored: its size and its border hashes concatenated, largest subtree first.
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Result<Self, AuditError> {
        let expected = size.count_ones() as usize;
        if bytes.len() != expected * 32 {
            return Err(AuditError::Encoding(format!(
                "a tree of {size} entries has {expected} border hashes, not {} bytes of them",
                bytes.len()
            )));
        }
        let border = bytes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(Self { size, border })
    }

    /// The border hashes concatenated, for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.border.concat()
    }

    /// How many leaves the tree has.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn append(&mut self, leaf: Hash) {
        let mut h = leaf;
        let mut s = self.size;
        while s & 1 == 1 {
            // The border has one hash per set bit, so a set bit always has one to pop.
            if let Some(left) = self.border.pop() {
                h = node_hash(&left, &h);
            }
            s >>= 1;
        }
        self.border.push(h);
        self.size += 1;
    }

    /// The tree head.
    pub fn root(&self) -> Hash {
        let mut hashes = self.border.iter().rev();
        let Some(last) = hashes.next() else {
            return empty_root();
        };
        hashes.fold(*last, |right, left| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn the_compact_range_agrees_with_the_recursive_definition() {
        let all = leaves(70);
        let mut range = CompactRange::new();
        assert_eq!(range.root(), root(&[]));
        for (i, leaf) in all.iter().enumerate() {
            range.append(*leaf);
            assert_eq!(range.root(), root(&all[..=i]), "size {}", i + 1);
            let stored = CompactRange::from_bytes(range.size(), &range.to_bytes()).unwrap();
            assert_eq!(stored, range);
        }
        assert!(CompactRange::from_bytes(3, &[0; 32]).is_err());
    }

    #[test]
    fn every_generated_proof_verifies_and_a_changed_one_does_not() {
        let all = leaves(19);
        for n in 1..=all.len() {
            let tree = &all[..n];
            let head = root(tree);
            for m in 0..n {
                let proof = inclusion_proof(tree, m as u64).unwrap();
                verify_inclusion(m as u64, n as u64, &tree[m], &proof, &head).unwrap();
                let other = (m + 1) % n;
                if other != m {
                    assert!(
                        verify_inclusion(m as u64, n as u64, &tree[other], &proof, &head).is_err()
                    );
                }
            }
            for m in 1..=n {
                let proof = consistency_proof(tree, m as u64).unwrap();
                let old = root(&tree[..m]);
                verify_consistency(m as u64, n as u64, &proof, &old, &head).unwrap();
                if m < n {
                    assert!(verify_consistency(m as u64, n as u64, &proof, &head, &head).is_err());
                }
            }
        }
        assert!(inclusion_proof(&all, 19).is_err());
        assert!(consistency_proof(&all, 0).is_err());
        assert!(consistency_proof(&all, 20).is_err());
    }
}
