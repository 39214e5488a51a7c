//! The other process of the journal tests (`journal_files.rs`), standing in for the programs that
//! hold a user's files open:
//!
//! - `hold-file read PATH` opens PATH as a reader that lets others read it but neither write nor
//!   delete it (a virus scanner or an editor on Windows), prints `held <its bytes>`, and keeps it
//!   open until its standard input closes;
//! - `hold-file lock PATH` takes the exclusive lock a run of hwdc takes on PATH, prints `locked`
//!   (or `busy`), and holds it until its standard input closes.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, path] = args.as_slice() else {
        eprintln!("usage: hold-file read|lock PATH");
        return ExitCode::from(2);
    };
    let mut options = std::fs::OpenOptions::new();
    let held = match mode.as_str() {
        "read" => {
            options.read(true);
            // Others may read, not write or delete (Win32 FILE_SHARE_READ); Unix has no such mode.
            #[cfg(windows)]
            std::os::windows::fs::OpenOptionsExt::share_mode(&mut options, 0x1);
            options.open(path).and_then(|mut file| {
                let mut text = String::new();
                file.read_to_string(&mut text)?;
                Ok((file, format!("held {text}")))
            })
        }
        "lock" => options
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map(|file| {
                let said = if file.try_lock().is_ok() {
                    "locked"
                } else {
                    "busy"
                };
                (file, said.to_owned())
            }),
        _ => {
            eprintln!("usage: hold-file read|lock PATH");
            return ExitCode::from(2);
        }
    };
    let (file, said) = match held {
        Ok(held) => held,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", said.replace('\n', " "));
    let _ = std::io::stdout().flush();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(file);
    ExitCode::SUCCESS
}
