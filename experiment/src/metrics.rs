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

    /// Opens the log for a run that continues after `last_epoch` (0: from the start), keeping
    /// only the lines whose `epoch` field is at most `last_epoch`, so that epochs re-run after a
    /// crash are logged once. A last line cut short by the crash is dropped.
    pub fn open_truncated(path: impl AsRef<Path>, last_epoch: usize) -> Result<Self> {
        let path = path.as_ref();
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            let mut kept = String::new();
            for (i, line) in lines.iter().enumerate() {
                let v: serde_json::Value = match serde_json::from_str(line) {
                    Ok(v) => v,
                    // Only the last line can have been torn by a crash.
                    Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => break,
                    Err(source) => {
                        return Err(Error::Json {
                            path: path.to_path_buf(),
                            source,
                        });
                    }
                };
                let keep = v
                    .get("epoch")
                    .and_then(|e| e.as_u64())
                    .is_none_or(|e| e as usize <= last_epoch);
                if keep {
                    kept.push_str(line);
                    kept.push('\n');
                }
            }
            crate::write_atomic(path, kept.as_bytes())?;
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
        drop(log);
        // A line torn by a crash is dropped; 0 empties the log (a run started again).
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"epoch": 4, "lo"#).unwrap();
        drop(f);
        assert!(read_metrics(&p).is_err());
        drop(MetricsLog::open_truncated(&p, 3).unwrap());
        assert_eq!(read_metrics(&p).unwrap().len(), 3);
        drop(MetricsLog::open_truncated(&p, 0).unwrap());
        assert!(read_metrics(&p).unwrap().is_empty());
    }
}
