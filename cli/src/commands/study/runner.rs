//! Running the steps: each re-invokes this binary as the subcommand a user would type, and is
//! recorded with its command and duration.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use auscult_study::Step;

/// Runs the steps, re-invoking this binary for each subcommand.
pub struct Runner {
    exe: PathBuf,
    /// The binary's size and modification time when the study started: a rebuild during the
    /// study would make its steps mix two programs, which need not round alike.
    build: (u64, Option<std::time::SystemTime>),
    /// Steps run so far.
    pub steps: Vec<Step>,
    quiet: bool,
}

impl Runner {
    /// A runner; `quiet` hides the children's progress bars and logs.
    pub fn new(quiet: bool) -> anyhow::Result<Self> {
        Self::with_exe(
            std::env::current_exe().context("cannot locate the auscult binary")?,
            quiet,
        )
    }

    /// A runner of the program at `exe`.
    fn with_exe(exe: PathBuf, quiet: bool) -> anyhow::Result<Self> {
        let build = build_of(&exe)?;
        Ok(Self {
            exe,
            build,
            steps: Vec::new(),
            quiet,
        })
    }

    /// Runs `auscult <args>` and returns its standard output; its standard error (progress
    /// bars, messages) goes to ours.
    pub fn run(&mut self, name: &str, args: &[String]) -> anyhow::Result<String> {
        let command = format!("auscult {}", shell_words(args));
        eprintln!("\n==> {name}\n    {command}");
        if build_of(&self.exe)? != self.build {
            bail!(
                "the auscult binary {} changed while the study ran (rebuilt?): its steps would \
                 mix two builds, which need not give the same numbers. Run studies from a copy \
                 of the binary that nothing rebuilds",
                self.exe.display()
            );
        }
        let started = Instant::now();
        let output = Command::new(&self.exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if self.quiet {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .output()
            .with_context(|| format!("cannot run {command}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!(
                "step `{name}` failed ({}): {command}\n{}",
                output.status,
                stderr.trim()
            );
        }
        self.record(name, command, started);
        Ok(stdout)
    }

    /// Records an in-process step.
    pub fn record(&mut self, name: &str, command: String, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("    done in {seconds:.1} s");
        self.steps.push(Step {
            name: name.to_string(),
            command,
            seconds,
        });
    }
}

/// The size and modification time of the file at `exe`.
fn build_of(exe: &Path) -> anyhow::Result<(u64, Option<std::time::SystemTime>)> {
    let meta = std::fs::metadata(exe).with_context(|| format!("cannot read {}", exe.display()))?;
    Ok((meta.len(), meta.modified().ok()))
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.chars().any(|c| c.is_whitespace() || "'\"$\\".contains(c)) {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `x` as a command-line argument.
pub(super) fn s(x: impl ToString) -> String {
    x.to_string()
}

/// `path` as a command-line argument.
pub(super) fn p(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_binary_rebuilt_during_the_study_stops_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("auscult");
        std::fs::write(&exe, "#!/bin/sh\necho one\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut runner = Runner::with_exe(exe.clone(), true).unwrap();
        assert_eq!(runner.run("first", &[]).unwrap(), "one\n");
        assert_eq!(runner.steps.len(), 1);
        // A rebuild writes a new program in its place.
        std::fs::write(&exe, "#!/bin/sh\necho second build\n").unwrap();
        let err = runner.run("second", &[]).unwrap_err().to_string();
        assert!(err.contains("changed while the study ran"), "{err}");
        assert_eq!(runner.steps.len(), 1);
    }
}
