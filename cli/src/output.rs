//! Terminal output shared by the subcommands: progress bars that hide themselves when stderr
//! is not a terminal (or under `--json`), and JSON printing.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar on stderr; invisible when stderr is not a terminal or when `hidden`.
pub fn progress_bar(total: u64, message: &str, hidden: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), draw_target(hidden));
    bar.set_style(bar_style());
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn draw_target(hidden: bool) -> ProgressDrawTarget {
    if hidden || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner:.green} {prefix:.bold} [{elapsed_precise}] [{wide_bar:.cyan/blue}] {pos}/{len} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// Says so on standard error when `--resume` found no committed checkpoint in `dir` and
/// training began again from the first epoch.
pub fn print_start(start: auscult_experiment::Start, dir: &std::path::Path) {
    if start == auscult_experiment::Start::Restarted {
        eprintln!(
            "{} had no committed checkpoint (it was stopped before its first epoch was saved): trained from the first epoch",
            dir.display()
        );
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Library progress (`auscult_experiment::Progress`) drawn as indicatif bars: one bar per phase.
pub struct BarProgress {
    hidden: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl BarProgress {
    /// Bars on stderr (invisible when not a terminal or when `hidden`).
    pub fn new(hidden: bool) -> Self {
        Self {
            hidden,
            bar: Mutex::new(None),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        if let Ok(guard) = self.bar.lock()
            && let Some(bar) = guard.as_ref()
        {
            f(bar);
        }
    }
}

impl auscult_experiment::Progress for BarProgress {
    fn start(&self, phase: &str, total: u64) {
        let bar = ProgressBar::with_draw_target(Some(total), draw_target(self.hidden));
        bar.set_style(bar_style());
        bar.set_prefix(phase.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut guard) = self.bar.lock() {
            if let Some(old) = guard.take() {
                old.finish_and_clear();
            }
            *guard = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        self.with_bar(|b| b.inc(n));
    }

    fn message(&self, msg: &str) {
        self.with_bar(|b| b.set_message(msg.to_string()));
    }

    fn finish(&self) {
        if let Ok(mut guard) = self.bar.lock()
            && let Some(bar) = guard.take()
        {
            bar.finish();
        }
    }
}
