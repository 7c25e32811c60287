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
    /// Steps run so far.
    pub steps: Vec<Step>,
    quiet: bool,
}

impl Runner {
    /// A runner; `quiet` hides the children's progress bars and logs.
    pub fn new(quiet: bool) -> anyhow::Result<Self> {
        Ok(Self {
            exe: std::env::current_exe().context("cannot locate the auscult binary")?,
            steps: Vec::new(),
            quiet,
        })
    }

    /// Runs `auscult <args>` and returns its standard output; its standard error (progress
    /// bars, messages) goes to ours.
    pub fn run(&mut self, name: &str, args: &[String]) -> anyhow::Result<String> {
        let command = format!("auscult {}", shell_words(args));
        eprintln!("\n==> {name}\n    {command}");
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
