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

/// `MTH(D[n])`: the head of the tree whose leaves have these hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            // A slice's length fits in u64 and the split is smaller than it.
            let k = split(n as u64) as usize;
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// A perfect subtree: the `2^level` leaves from leaf `index << level` on. Every hash a proof
/// needs is a fold of such subtrees, so a store that keeps their hashes answers proofs by
/// reading O(log n) of them instead of rehashing the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves; 0 is a leaf.
    pub level: u32,
    /// Position among the subtrees of that height, from the left.
    pub index: u64,
}

impl NodeId {
    fn leaves(self) -> (u64, u64) {
        let start = self.index << self.level;
        (start, start + (1 << self.level))
    }
}

/// A proof to be filled in: each element the head of a run of leaves, as the perfect
/// subtrees whose hashes fold (right to left) into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    elements: Vec<Vec<NodeId>>,
}

impl ProofPlan {
    /// Every subtree whose hash the proof needs.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.elements.iter().flatten().copied()
    }

    /// The proof, from the hashes of the subtrees `hash` looks up.
    pub fn fill<E>(&self, mut hash: impl FnMut(NodeId) -> Result<Hash, E>) -> Result<Vec<Hash>, E> {
        self.elements
            .iter()
            .map(|nodes| {
                let mut hashes = nodes.iter().rev();
                let mut acc = match hashes.next() {
                    Some(&last) => hash(last)?,
                    None => empty_root(),
                };
                for &left in hashes {
                    acc = node_hash(&hash(left)?, &acc);
                }
                Ok(acc)
            })
            .collect()
    }

    /// Adds the head of leaves `start..end` as the next element: the perfect subtrees that
    /// make it up, largest first (RFC 9162's ranges start aligned, so these are exactly the
    /// subtrees MTH splits them into).
    fn push(&mut self, start: u64, end: u64) {
        let mut nodes = Vec::new();
        let mut at = start;
        while at < end {
            // The largest subtree that fits and starts at `at` (0 starts every size).
            let fits = (end - at).ilog2();
            let level = if at == 0 {
                fits
            } else {
                fits.min(at.trailing_zeros())
            };
            nodes.push(NodeId {
                level,
                index: at >> level,
            });
            at += 1 << level;
        }
        self.elements.push(nodes);
    }
}

/// The largest power of two smaller than `n`, for `n >= 2`: where RFC 9162 splits a tree.
fn split(n: u64) -> u64 {
    1 << (n - 1).ilog2()
}

/// What `PATH(leaf_index, D[tree_size])` is made of.
pub fn inclusion_plan(leaf_index: u64, tree_size: u64) -> Result<ProofPlan, AuditError> {
    if leaf_index >= tree_size {
        return Err(AuditError::Range(format!(
            "entry {leaf_index} is not in a tree of {tree_size} entries"
        )));
    }
    let mut plan = ProofPlan {
        elements: Vec::new(),
    };
    path(leaf_index, 0, tree_size, &mut plan);
    Ok(plan)
}

fn path(m: u64, start: u64, end: u64, plan: &mut ProofPlan) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, start, start + k, plan);
        plan.push(start + k, end);
    } else {
        path(m - k, start + k, end, plan);
        plan.push(start, start + k);
    }
}

/// What `PROOF(old_size, D[tree_size])` is made of; empty when the sizes are equal.
pub fn consistency_plan(old_size: u64, tree_size: u64) -> Result<ProofPlan, AuditError> {
    if old_size == 0 || old_size > tree_size {
        return Err(AuditError::Range(format!(
            "a consistency proof needs an old size from 1 to {tree_size}, not {old_size}"
        )));
    }
    let mut plan = ProofPlan {
        elements: Vec::new(),
    };
    subproof(old_size, 0, tree_size, true, &mut plan);
    Ok(plan)
}

fn subproof(m: u64, start: u64, end: u64, complete: bool, plan: &mut ProofPlan) {
    let n = end - start;
    if m == n {
        if !complete {
            plan.push(start, end);
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, start, start + k, complete, plan);
        plan.push(start + k, end);
    } else {
        subproof(m - k, start + k, end, false, plan);
        plan.push(start, start + k);
    }
}

/// Looks the subtree up in a tree held as its leaf hashes.
fn subtree(leaves: &[Hash], node: NodeId) -> Result<Hash, AuditError> {
    let (start, end) = node.leaves();
    let range = usize::try_from(start)
        .ok()
        .zip(usize::try_from(end).ok())
        .filter(|&(_, e)| e <= leaves.len())
        .ok_or_else(|| AuditError::Range(format!("no subtree {node:?} in the tree")))?;
    Ok(root(&leaves[range.0..range.1]))
}

/// `PATH(m, D[n])`: the audit path of leaf `leaf_index` in the tree of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], leaf_index: u64) -> Result<Vec<Hash>, AuditError> {
    inclusion_plan(leaf_index, leaves.len() as u64)?.fill(|n| subtree(leaves, n))
}

/// `PROOF(m, D[n])`: that the tree of the first `old_size` of `leaves` is a prefix of the
/// tree of all of them. Empty when the sizes are equal.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, AuditError> {
    consistency_plan(old_size, leaves.len() as u64)?.fill(|n| subtree(leaves, n))
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
        self.append_reporting(leaf, |_, _| {});
    }

    /// Appends one leaf hash and tells `completed` of each interior subtree it completes,
    /// so a store can keep their hashes for proofs.
    pub fn append_reporting(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, Hash)) {
        let index = self.size;
        let mut h = leaf;
        let mut level = 0;
        while (index >> level) & 1 == 1 {
            // The border has one hash per set bit, so a set bit always has one to pop.
            if let Some(left) = self.border.pop() {
                h = node_hash(&left, &h);
            }
            level += 1;
            completed(
                NodeId {
                    level,
                    index: index >> level,
                },
                h,
            );
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
    fn completed_subtrees_are_reported_with_their_hashes() {
        let all = leaves(37);
        let mut range = CompactRange::new();
        let mut nodes = std::collections::HashMap::new();
        for leaf in &all {
            range.append_reporting(*leaf, |id, h| {
                assert!(nodes.insert(id, h).is_none(), "{id:?} twice");
            });
        }
        // Every perfect interior subtree of 37 leaves, exactly once, with its hash.
        let expected: usize = (1..=5).map(|level| 37 >> level).sum();
        assert_eq!(nodes.len(), expected);
        for (id, h) in nodes {
            assert_eq!(subtree(&all, id).unwrap(), h, "{id:?}");
        }
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
