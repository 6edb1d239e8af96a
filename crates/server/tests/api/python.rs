//! The Python tools some tests drive (the Open311 client `georeport`, the schema fuzzer
//! `schemathesis`), each pinned and installed from PyPI into a virtual environment of its own
//! under the cargo target directory. Without python3 or PyPI a test says so loudly and passes,
//! except under `CI=true`, where a skip is a failure.

use std::path::PathBuf;
use std::process::Command;

/// Says loudly that `what` was skipped and why; panics under `CI=true`.
pub fn skip_loudly(what: &str, package: &str, reason: &str) {
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPED {what}: {reason}\n\
         !!! (it needs python3 with venv, and PyPI reachable once to install {package})\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("a skipped test is a failure under CI=true: {what} ({reason})");
    }
}

/// Runs a command; its standard output, or what went wrong.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("{cmd:?}: {e}")),
    }
}

/// The `bin` folder of a virtual environment `name` holding `package` (`name==version`),
/// created and installed on first use, or why there is none.
pub fn venv_with(name: &str, package: &str) -> Result<PathBuf, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(Command::new(&python).arg("--version")).map_err(|e| format!("python3 is absent ({e})"))?;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-venv"));
    let bin = dir.join("bin");
    let py = bin.join("python");
    if !py.exists() {
        run(Command::new(&python).args(["-m", "venv"]).arg(&dir))
            .map_err(|e| format!("cannot create a virtual environment: {e}"))?;
    }
    let (pkg, version) = package.split_once("==").unwrap_or((package, ""));
    let shown = run(Command::new(&py).args(["-m", "pip", "show", pkg])).unwrap_or_default();
    if !shown
        .lines()
        .any(|l| l.trim() == format!("Version: {version}"))
    {
        run(Command::new(&py).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            package,
        ]))
        .map_err(|e| format!("cannot install {package}: {e}"))?;
    }
    Ok(bin)
}
