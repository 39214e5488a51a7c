//! A flow's journal while another process has its files: a reader that holds the journal open
//! (on Windows, one that shares neither writing nor deleting keeps the next save's rename waiting
//! until it lets go), and another run that holds the journal's lock. The other process is
//! `hold-file` (`bin/hold_file.rs`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hw_api::Error;
use hw_api::ship::{FileStateStore, ShipState, StateStore};
use hw_workspace_tests::tempdir::Dir;

/// A journal of submission `name`.
fn state(name: &str) -> ShipState {
    serde_json::from_value(serde_json::json!({
        "version": hw_api::ship::STATE_VERSION,
        "packageSha256": "00",
        "account": "tests",
        "submissionName": name,
        "committed": true,
    }))
    .unwrap()
}

/// `hold-file <mode> <path>`, started, with the line it printed once it holds the file.
fn holder(mode: &str, path: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hold-file"))
        .arg(mode)
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

/// Lets the holder go (its standard input closes) and waits for it.
fn release(mut child: Child) {
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_journal_is_saved_while_another_process_reads_it() {
    let dir = Dir::new("journal-held");
    let store = FileStateStore::new(dir.path().join("my driver.cab.hwdc.json"));
    store.save(&state("one")).unwrap();
    let (child, said) = holder("read", store.path());
    assert!(
        said.starts_with("held ") && said.contains("\"one\""),
        "{said}"
    );
    // The reader lets go a moment later, as a scanner does; the save waits for it on Windows.
    let reader = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        release(child);
    });
    store.save(&state("two")).unwrap();
    reader.join().unwrap();
    assert_eq!(store.load().unwrap(), Some(state("two")));
    // Nothing is left beside it but the journal.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["my driver.cab.hwdc.json"]);
}

#[test]
fn a_journal_locked_by_another_process_is_refused_until_that_process_ends() {
    let dir = Dir::new("journal-locked");
    let store = FileStateStore::new(dir.path().join("driver.cab.hwdc.json"));
    let mut lock = store.path().as_os_str().to_owned();
    lock.push(".lock");
    let (child, said) = holder("lock", Path::new(&lock));
    assert_eq!(said, "locked");
    match store.lock() {
        Err(Error::StateLocked(message)) => {
            assert!(message.contains("another run"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    release(child);
    // The lock goes with the process that held it.
    let held = store.lock().unwrap();
    let (child, said) = holder("lock", Path::new(&lock));
    assert_eq!(said, "busy", "the lock is held for other processes too");
    release(child);
    held.remove();
    assert!(!Path::new(&lock).exists());
}
