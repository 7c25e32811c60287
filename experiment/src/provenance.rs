//! Provenance: which program, data and seed made an artifact directory.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// What made a run: saved as `provenance.json` in every artifact directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Version of auscult (the crate version of the binary that ran).
    pub auscult_version: String,
    /// Version of burn compiled in.
    pub burn_version: String,
    /// The command line as given.
    pub command_line: Vec<String>,
    /// The data the run read (dataset root, corpora).
    pub data: Vec<PathBuf>,
    /// SHA-256 over the names, sizes and contents of the data files (see [`fingerprint_files`]).
    pub data_fingerprint: String,
    /// Number of data files fingerprinted.
    pub data_files: usize,
    /// The run's seed.
    pub seed: u64,
    /// Seconds since the Unix epoch when the run started.
    pub created_unix_s: u64,
    /// SHA-256 of the executable that ran (empty when it could not be read, and in runs made
    /// before it was recorded): two builds of the same version can round differently, so
    /// this, not the version, says whether two runs used the same program.
    #[serde(default)]
    pub executable_sha256: String,
    /// The CPU that ran it and the vector extensions its kernels may use (empty in runs made
    /// before it was recorded): the same program rounds sums differently on another CPU.
    #[serde(default)]
    pub cpu: String,
}

impl Provenance {
    /// Provenance of the current process for the given data files and seed.
    pub fn new(data: Vec<PathBuf>, files: &[PathBuf], seed: u64) -> Result<Self> {
        Ok(Self {
            auscult_version: env!("CARGO_PKG_VERSION").to_string(),
            burn_version: "0.22.1".to_string(),
            command_line: std::env::args().collect(),
            data,
            data_fingerprint: fingerprint_files(files)?,
            data_files: files.len(),
            seed,
            created_unix_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            executable_sha256: executable_sha256().unwrap_or_default(),
            cpu: cpu_description(),
        })
    }
}

/// The CPU's model name (where the system says it) and the vector extensions detected at run
/// time, e.g. `AMD EPYC; x86_64 avx2 fma avx512f`.
fn cpu_description() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_default();
    let mut features: Vec<&str> = vec![std::env::consts::ARCH];
    #[cfg(target_arch = "x86_64")]
    {
        for (name, on) in [
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ] {
            if on {
                features.push(name);
            }
        }
    }
    format!("{model}; {}", features.join(" "))
}

/// SHA-256 of the running executable's file, or `None` when it cannot be located or read.
/// Hashed once per process (a debug build is a few hundred MB).
fn executable_sha256() -> Option<String> {
    static HASH: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_file(&std::env::current_exe().ok()?).ok())
        .clone()
}

impl Provenance {
    /// Checks that `files` are the data this run recorded (the same [`fingerprint_files`]);
    /// otherwise [`Error::DataChanged`] naming the run directory `run`.
    pub fn verify_data(&self, run: &Path, files: &[PathBuf]) -> Result<()> {
        let now = fingerprint_files(files)?;
        if now == self.data_fingerprint {
            return Ok(());
        }
        let short = |s: &str| s.chars().take(12).collect::<String>();
        Err(Error::DataChanged {
            path: run.to_path_buf(),
            recorded_files: self.data_files,
            recorded: short(&self.data_fingerprint),
            now_files: files.len(),
            now: short(&now),
        })
    }
}

/// SHA-256 (hex) over the sorted file list: each file's name, length and bytes.
pub fn fingerprint_files(files: &[PathBuf]) -> Result<String> {
    let mut sorted: Vec<&PathBuf> = files.iter().collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    for path in sorted {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        hasher.update(name.as_bytes());
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
        hasher.update(len.to_le_bytes());
        feed(&mut hasher, &mut f, path, &mut buf)?;
    }
    Ok(hex(&hasher.finalize()))
}

/// Feeds the rest of `f` (the file at `path`) to `hasher`, `buf` at a time.
fn feed(hasher: &mut Sha256, f: &mut std::fs::File, path: &Path, buf: &mut [u8]) -> Result<()> {
    loop {
        let n = f.read(buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}

/// Lower-case hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (lower-case hex) of one file's content, as `sha256sum` prints it.
pub fn hash_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    feed(&mut hasher, &mut f, path, &mut vec![0u8; 1 << 16])?;
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_changes_with_content_not_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.wav");
        let b = dir.path().join("b.wav");
        std::fs::write(&a, b"aaaa").unwrap();
        std::fs::write(&b, b"bbbb").unwrap();
        let f1 = fingerprint_files(&[a.clone(), b.clone()]).unwrap();
        let f2 = fingerprint_files(&[b.clone(), a.clone()]).unwrap();
        assert_eq!(f1, f2);
        std::fs::write(&b, b"bbbc").unwrap();
        assert_ne!(f1, fingerprint_files(&[a, b]).unwrap());
        assert_eq!(f1.len(), 64);
    }

    #[test]
    fn provenance_names_the_executable_and_reads_old_files_without_it() {
        let p = Provenance::new(vec![], &[], 7).unwrap();
        let exe = std::env::current_exe().unwrap();
        assert_eq!(p.executable_sha256, hash_file(&exe).unwrap());
        assert!(p.cpu.contains(std::env::consts::ARCH), "{}", p.cpu);
        let mut old = serde_json::to_value(&p).unwrap();
        old.as_object_mut().unwrap().remove("executable_sha256");
        old.as_object_mut().unwrap().remove("cpu");
        let back: Provenance = serde_json::from_value(old).unwrap();
        assert_eq!(back.executable_sha256, "");
        assert_eq!(back.cpu, "");
        assert_eq!(back.seed, 7);
    }

    #[test]
    fn hash_file_is_sha256sum() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        std::fs::write(&a, b"abc").unwrap();
        assert_eq!(
            hash_file(&a).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
