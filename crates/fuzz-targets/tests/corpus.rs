//! The checked-in corpus (`fuzz/corpus/<target>/`), replayed through the same functions the fuzz
//! targets call: every seed and every crasher ever found must pass. Also checks that the
//! generated seeds are all there (`LIVECHAT_WRITE_SEEDS=1` writes them) and valid.

use std::collections::BTreeSet;
use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use livechat_fuzz_targets::{framer, seeds, TARGETS};
use mqtt_codec::ProtocolVersion;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

fn replay(target: &str) {
    let (_, run) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a target");
    let dir = corpus(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    let failed: Vec<_> = files
        .iter()
        .filter(|file| {
            let data = fs::read(file).expect("a corpus file");
            panic::catch_unwind(|| run(&data)).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(failed.is_empty(), "findings replayed: {failed:#?}");
}

#[test]
fn the_framer_corpus_replays() {
    replay("framer");
}

#[test]
fn the_session_corpus_replays() {
    replay("session");
}

#[test]
fn the_json_corpus_replays() {
    replay("json");
}

#[test]
fn the_token_corpus_replays() {
    replay("token");
}

#[test]
fn the_chat_corpus_replays() {
    replay("chat");
}

#[test]
fn every_generated_seed_is_in_the_corpus() {
    let write = std::env::var_os("LIVECHAT_WRITE_SEEDS").is_some_and(|v| v == "1");
    let mut missing = Vec::new();
    for (target, _) in TARGETS {
        let seeds = seeds::of(target);
        assert!(!seeds.is_empty(), "{target} has no seeds");
        let dir = corpus(target);
        for (name, bytes) in seeds {
            let path = dir.join(format!("seed-{name}"));
            if write {
                fs::create_dir_all(&dir).expect("the corpus directory");
                fs::write(&path, &bytes).expect("a seed written");
            } else if fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
                missing.push(path.display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "seeds missing or stale (rerun with LIVECHAT_WRITE_SEEDS=1): {missing:#?}"
    );
}

#[test]
fn the_seed_packets_cover_every_type_and_the_oracle_reads_them_the_same() {
    for (version, types) in [(ProtocolVersion::V311, 14), (ProtocolVersion::V5, 15)] {
        let packets = seeds::packets(version);
        let names: BTreeSet<_> = packets.iter().map(|(_, p)| p.name()).collect();
        assert_eq!(names.len(), types, "{version:?}: {names:?}");
        for (_, packet) in &packets {
            framer::check_packet(packet, version);
        }
    }
}
