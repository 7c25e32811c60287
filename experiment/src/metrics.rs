//! `metrics.jsonl`: one JSON object per line, appended and flushed after each epoch.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{Error, Result};

/// An append-only JSON-lines log (one object per epoch).
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    file: std::fs::File,
}

impl MetricsLog {
    /// Opens (creating if needed) the log at `path` for appending.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Self { path, file })
    }

    /// Opens the log for a resumed run, keeping only the lines whose `epoch` field is at most
    /// `last_epoch`, so that epochs re-run after a crash are not logged twice.
    pub fn open_truncated(path: impl AsRef<Path>, last_epoch: usize) -> Result<Self> {
        let path = path.as_ref();
        if path.exists() {
            let kept: Vec<serde_json::Value> = read_metrics(path)?
                .into_iter()
                .filter(|v| {
                    v.get("epoch")
                        .and_then(|e| e.as_u64())
                        .is_none_or(|e| e as usize <= last_epoch)
                })
                .collect();
            let mut text = String::new();
            for v in kept {
                text.push_str(&v.to_string());
                text.push('\n');
            }
            crate::write_atomic(path, text.as_bytes())?;
        }
        Self::open(path)
    }

    /// Appends one record as a line and flushes it to disk.
    pub fn append<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<()> {
        let mut line = serde_json::to_string(record).map_err(|source| Error::Json {
            path: self.path.clone(),
            source,
        })?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .map_err(|e| Error::io(&self.path, e))
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads every record of a `metrics.jsonl` file (blank lines skipped).
pub fn read_metrics(path: impl AsRef<Path>) -> Result<Vec<serde_json::Value>> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_read_and_truncate_on_resume() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.jsonl");
        let mut log = MetricsLog::open(&p).unwrap();
        for epoch in 1..=4 {
            log.append(&serde_json::json!({"epoch": epoch, "loss": 1.0 / epoch as f64}))
                .unwrap();
        }
        drop(log);
        assert_eq!(read_metrics(&p).unwrap().len(), 4);
        let mut log = MetricsLog::open_truncated(&p, 2).unwrap();
        log.append(&serde_json::json!({"epoch": 3, "loss": 0.3}))
            .unwrap();
        let all = read_metrics(&p).unwrap();
        let epochs: Vec<u64> = all.iter().map(|v| v["epoch"].as_u64().unwrap()).collect();
        assert_eq!(epochs, vec![1, 2, 3]);
    }
}
