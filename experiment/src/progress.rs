//! Progress hooks: library code reports progress through this trait and never draws anything;
//! the `auscult` binary implements it with progress bars.

/// Receives progress from long-running library work (training epochs, generation).
pub trait Progress: Send + Sync {
    /// A new phase begins (for example "epoch 3/20") with `total` units of work.
    fn start(&self, phase: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// A one-line status (for example the running loss).
    fn message(&self, msg: &str);
    /// The current phase is over.
    fn finish(&self);
}

/// Progress that goes nowhere (tests, `--json` runs).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _phase: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn message(&self, _msg: &str) {}
    fn finish(&self) {}
}
