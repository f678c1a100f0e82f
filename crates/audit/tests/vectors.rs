//! The Merkle tree code against the published vectors of transparency-dev/merkle (see
//! testdata/README.md).

use std::fs;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::Deserialize;
use vanthu_audit::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency, verify_inclusion,
};
use vanthu_audit::{CompactRange, Hash};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/merkle")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn probes<T: for<'de> Deserialize<'de>>(kind: &str) -> Vec<(PathBuf, T)> {
    let mut files = Vec::new();
    json_files(&testdata().join(kind), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let probe = serde_json::from_slice(&fs::read(&f).unwrap()).unwrap();
            (f, probe)
        })
        .collect()
}

/// A value of the probe files as a hash, or `None` when it is not 32 bytes (`null` is empty).
/// Such a value cannot be handed to the typed verifier at all: for it the probe is refused
/// before verification, as Go refuses a leaf hash of the wrong size.
fn hash(b64: &Option<String>) -> Option<Hash> {
    Hash::try_from(BASE64.decode(b64.as_deref().unwrap_or_default()).unwrap()).ok()
}

fn hashes(b64: &Option<Vec<String>>) -> Option<Vec<Hash>> {
    b64.iter()
        .flatten()
        .map(|h| hash(&Some(h.clone())))
        .collect()
}

/// The one probe whose values are not hashes yet must verify: Go compares the two roots of
/// equal-sized trees as byte strings of any length, while roots here are SHA-256 hashes by
/// type, so a 12-byte root is refused before any comparison.
const NOT_HASHES_YET_VALID: &str =
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionProbe {
    leaf_idx: u64,
    tree_size: u64,
    root: Option<String>,
    leaf_hash: Option<String>,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyProbe {
    size1: u64,
    size2: u64,
    root1: Option<String>,
    root2: Option<String>,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

const NOT_HASHES: &str = "not 32-byte hashes";

/// A probe file: what to verify, and whether it must fail.
trait Probe: for<'de> Deserialize<'de> {
    fn verify(&self) -> Result<(), String>;
    fn want_err(&self) -> bool;
    fn desc(&self) -> &str;
}

impl Probe for InclusionProbe {
    fn verify(&self) -> Result<(), String> {
        match (hash(&self.leaf_hash), hash(&self.root), hashes(&self.proof)) {
            (Some(leaf), Some(head), Some(proof)) => {
                verify_inclusion(self.leaf_idx, self.tree_size, &leaf, &proof, &head)
                    .map_err(|e| e.to_string())
            }
            _ => Err(NOT_HASHES.to_owned()),
        }
    }
    fn want_err(&self) -> bool {
        self.want_err
    }
    fn desc(&self) -> &str {
        &self.desc
    }
}

impl Probe for ConsistencyProbe {
    fn verify(&self) -> Result<(), String> {
        match (hash(&self.root1), hash(&self.root2), hashes(&self.proof)) {
            (Some(r1), Some(r2), Some(proof)) => {
                verify_consistency(self.size1, self.size2, &proof, &r1, &r2)
                    .map_err(|e| e.to_string())
            }
            _ => Err(NOT_HASHES.to_owned()),
        }
    }
    fn want_err(&self) -> bool {
        self.want_err
    }
    fn desc(&self) -> &str {
        &self.desc
    }
}

/// Checks that every probe of `kind` fails exactly when it should; returns how many passed.
fn run_probes<P: Probe>(kind: &str) -> usize {
    let all = probes::<P>(kind);
    assert!(all.len() > 90, "{} {kind} probes", all.len());
    let mut verified = 0;
    for (file, p) in all {
        let result = p.verify();
        if file.ends_with(NOT_HASHES_YET_VALID) {
            assert_eq!(result, Err(NOT_HASHES.to_owned()));
            continue;
        }
        assert_eq!(
            result.is_err(),
            p.want_err(),
            "{}: {} {result:?}",
            file.display(),
            p.desc()
        );
        verified += usize::from(result.is_ok());
    }
    verified
}

#[test]
fn inclusion_probes_verify_exactly_when_they_should() {
    let verified = run_probes::<InclusionProbe>("inclusion");
    assert!(verified >= 5, "only {verified} happy paths");
}

#[test]
fn consistency_probes_verify_exactly_when_they_should() {
    let verified = run_probes::<ConsistencyProbe>("consistency");
    assert!(verified >= 4, "only {verified} happy paths");
}

#[derive(Deserialize)]
struct Trees {
    leaves: Vec<String>,
    roots: Vec<String>,
    leaf_hashes: Vec<String>,
    inclusion: Vec<Inclusion>,
    consistency: Vec<Consistency>,
}

#[derive(Deserialize)]
struct Inclusion {
    index: u64,
    size: usize,
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct Consistency {
    size1: usize,
    size2: usize,
    proof: Vec<String>,
}

fn hex_hash(s: &str) -> Hash {
    Hash::try_from(hex::decode(s).unwrap()).unwrap()
}

#[test]
fn heads_and_generated_proofs_match_the_reference_trees() {
    let trees: Trees =
        serde_json::from_slice(&fs::read(testdata().join("trees.json")).unwrap()).unwrap();
    let leaves: Vec<Hash> = trees
        .leaves
        .iter()
        .map(|l| leaf_hash(&hex::decode(l).unwrap()))
        .collect();
    let expected_leaves: Vec<Hash> = trees.leaf_hashes.iter().map(|h| hex_hash(h)).collect();
    assert_eq!(leaves, expected_leaves);
    let mut range = CompactRange::new();
    for (size, expected) in trees.roots.iter().enumerate() {
        let expected = hex_hash(expected);
        assert_eq!(root(&leaves[..size]), expected, "head of {size}");
        assert_eq!(range.root(), expected, "compact head of {size}");
        if size < leaves.len() {
            range.append(leaves[size]);
        }
    }
    for v in &trees.inclusion {
        let proof: Vec<Hash> = v.proof.iter().map(|h| hex_hash(h)).collect();
        let tree = &leaves[..v.size];
        assert_eq!(
            inclusion_proof(tree, v.index).unwrap(),
            proof,
            "{} in {}",
            v.index,
            v.size
        );
        verify_inclusion(
            v.index,
            v.size as u64,
            &tree[v.index as usize],
            &proof,
            &root(tree),
        )
        .unwrap();
    }
    for v in &trees.consistency {
        let proof: Vec<Hash> = v.proof.iter().map(|h| hex_hash(h)).collect();
        let tree = &leaves[..v.size2];
        assert_eq!(
            consistency_proof(tree, v.size1 as u64).unwrap(),
            proof,
            "{} to {}",
            v.size1,
            v.size2
        );
        verify_consistency(
            v.size1 as u64,
            v.size2 as u64,
            &proof,
            &root(&leaves[..v.size1]),
            &root(tree),
        )
        .unwrap();
    }
}
