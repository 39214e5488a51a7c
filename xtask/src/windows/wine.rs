//! Running Windows programs under Wine: a prefix of the project's own under the target folder,
//! the `bcryptprimitives.dll` stand-in in its system folder, and the environment that keeps Wine
//! quiet and non-interactive.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{TaskError, fail, run_ok};

/// Wine, set up for the project's runs.
pub(super) struct Wine {
    /// The `wine64` loader.
    pub loader: PathBuf,
    /// The prefix (Wine's `C:` drive and registry), under the target folder.
    pub prefix: PathBuf,
    /// Where the DLL stand-in is built.
    dlls: PathBuf,
}

/// Where Debian's `wine64` package puts the loader (the `wine` wrapper is a separate package).
const LOADERS: &[&str] = &["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"];

impl Wine {
    /// Builds the DLL stand-in and creates the prefix unless they are there already.
    pub(super) fn prepare(root: &Path, cache: &Path) -> Result<Self, TaskError> {
        let loader = LOADERS
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or_else(|| fail(format!("no Wine loader at {}", LOADERS.join(", "))))?;
        let wine = Self {
            loader,
            prefix: cache.join("prefix"),
            dlls: cache.join("dll"),
        };
        if !wine.prefix.join("system.reg").is_file() {
            println!("creating the Wine prefix {}", wine.prefix.display());
            // Wine makes the prefix itself, but not the folders above it.
            std::fs::create_dir_all(cache)
                .map_err(|e| fail(format!("{}: {e}", cache.display())))?;
            run_ok(wine.command().args(["wineboot", "-i"]), "wineboot -i")?;
        }
        wine.build_dll(root)?;
        // In the system folder, where Windows has it: found whatever PATH a test gives a child.
        let system = wine
            .prefix
            .join("drive_c/windows/system32/bcryptprimitives.dll");
        std::fs::copy(wine.dlls.join("bcryptprimitives.dll"), &system)
            .map_err(|e| fail(format!("{}: {e}", system.display())))?;
        Ok(wine)
    }

    /// Compiles `tools/windows/bcryptprimitives.c` with MinGW when its source changed.
    fn build_dll(&self, root: &Path) -> Result<(), TaskError> {
        let source = root.join("tools/windows/bcryptprimitives.c");
        let text =
            std::fs::read(&source).map_err(|e| fail(format!("{}: {e}", source.display())))?;
        let dll = self.dlls.join("bcryptprimitives.dll");
        let built_from = self.dlls.join("bcryptprimitives.c");
        if dll.is_file() && std::fs::read(&built_from).ok() == Some(text.clone()) {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dlls).map_err(|e| fail(e.to_string()))?;
        run_ok(
            Command::new("x86_64-w64-mingw32-gcc")
                .args(["-shared", "-O2", "-s", "-o"])
                .arg(&dll)
                .arg(&source)
                .arg("-lbcrypt"),
            "x86_64-w64-mingw32-gcc (the bcryptprimitives.dll stand-in)",
        )?;
        std::fs::write(&built_from, text).map_err(|e| fail(e.to_string()))
    }

    /// Puts the Wine settings into `command`'s environment.
    pub(super) fn configure(&self, command: &mut Command) {
        command
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            // No Mono or Gecko installer dialogs: nothing here needs .NET or a browser engine.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=");
    }

    /// `wine64` with the settings, ready for a program and its arguments.
    pub(super) fn command(&self) -> Command {
        let mut command = Command::new(&self.loader);
        self.configure(&mut command);
        command
    }

    /// The roaming application data folders of the prefix's users (`%APPDATA%`), where a
    /// Windows program's per-user configuration lives.
    pub(super) fn app_data(&self) -> Vec<PathBuf> {
        let users = self.prefix.join("drive_c/users");
        std::fs::read_dir(users)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.path().join("AppData/Roaming"))
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops the prefix's wineserver and the programs it still runs.
    pub(super) fn shut_down(&self) {
        let server = self.loader.with_file_name("wineserver");
        let mut kill = Command::new(if server.is_file() {
            server
        } else {
            "wineserver".into()
        });
        self.configure(&mut kill);
        let _ = kill.arg("-k").status();
    }
}
