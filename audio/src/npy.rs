//! Reading and writing NumPy `.npy` arrays of `float32` (and reading `float64`).
//!
//! Files are written in format version 1.0, little-endian `<f4`, C order, as `numpy.save`
//! does, via a temporary file and a rename. The reader accepts versions 1-3, `<f4`, `>f4`,
//! `<f8` and `>f8` in C or Fortran order (returned in C order), and checks the declared shape against the bytes actually
//! present before allocating anything.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fs::write_atomic;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Writes `data` as a C-order `float32` `.npy` file with the given `shape`, atomically.
///
/// # Errors
/// [`Error::ShapeMismatch`] when `shape`'s product differs from `data.len()`, [`Error::Io`]
/// when the file cannot be written.
pub fn write_npy_f32(path: &Path, data: &[f32], shape: &[usize]) -> Result<()> {
    let expected: usize = shape.iter().product();
    if expected != data.len() {
        return Err(Error::ShapeMismatch {
            expected,
            actual: data.len(),
        });
    }
    let shape_str = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_str}, }}");
    // magic (6) + version (2) + header length (2) + header + '\n', padded to 64 bytes.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let header_len = u16::try_from(header.len()).map_err(|_| Error::Npy {
        path: path.to_path_buf(),
        reason: format!("shape {shape:?} makes the header too long for format 1.0"),
    })?;
    let mut bytes = Vec::with_capacity(10 + header.len() + 4 * data.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&header_len.to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    write_atomic(path, &bytes)
}

/// Reads a `.npy` file of `float32` or `float64` (converted to `f32`), in C or Fortran order.
///
/// Returns the values in C order and the shape (empty for a scalar).
///
/// # Errors
/// [`Error::Io`] when unreadable, [`Error::Npy`] for anything malformed or unsupported
/// (other dtypes, a shape that disagrees with the data length).
pub fn read_npy_f32(path: &Path) -> Result<(Vec<f32>, Vec<usize>)> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |reason: String| Error::Npy {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad(
            "missing the \\x93NUMPY magic; is this a .npy file?".into()
        ));
    }
    let (header_start, header_len) = match bytes[6] {
        1 => (
            10usize,
            usize::from(u16::from_le_bytes([bytes[8], bytes[9]])),
        ),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header".into()));
            }
            (
                12,
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            )
        }
        v => {
            return Err(bad(format!(
                "format version {v} is not supported (1, 2 or 3)"
            )));
        }
    };
    let data_start = header_start
        .checked_add(header_len)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| bad("the header runs past the end of the file".into()))?;
    let header = std::str::from_utf8(&bytes[header_start..data_start])
        .map_err(|_| bad("header is not text".into()))?;
    let descr = dict_value(header, "descr").ok_or_else(|| bad("header has no 'descr'".into()))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let fortran =
        dict_value(header, "fortran_order").ok_or_else(|| bad("no 'fortran_order'".into()))?;
    let fortran = match fortran.trim() {
        "False" => false,
        "True" => true,
        other => return Err(bad(format!("fortran_order {other} is not True or False"))),
    };
    let shape_str = dict_value(header, "shape").ok_or_else(|| bad("no 'shape'".into()))?;
    let shape = parse_shape(shape_str).ok_or_else(|| bad(format!("bad shape {shape_str}")))?;
    let itemsize = match descr {
        "<f4" | ">f4" | "=f4" | "|f4" => 4,
        "<f8" | ">f8" | "=f8" | "|f8" => 8,
        other => {
            return Err(bad(format!(
                "dtype {other} is not supported (float32 or float64)"
            )));
        }
    };
    // As numpy does ("array is too big"), the non-zero dimensions must fit in memory even
    // when another one is 0: the strides of an empty array are products of them too.
    let fits = shape
        .iter()
        .filter(|&&d| d > 0)
        .try_fold(itemsize, |acc: usize, &d| acc.checked_mul(d))
        .is_some_and(|size| isize::try_from(size).is_ok());
    if !fits {
        return Err(bad(format!(
            "shape {shape:?} is too big for memory (its non-zero dimensions overflow)"
        )));
    }
    let count: usize = shape.iter().product();
    let data = &bytes[data_start..];
    if count.checked_mul(itemsize) != Some(data.len()) {
        return Err(bad(format!(
            "shape {shape:?} needs {count} values of {itemsize} bytes but the file holds {} bytes",
            data.len()
        )));
    }
    let big = descr.starts_with('>');
    let values: Vec<f32> = if itemsize == 4 {
        data.chunks_exact(4)
            .map(|c| {
                let b = [c[0], c[1], c[2], c[3]];
                if big {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                }
            })
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|c| {
                let b = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
                (if big {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                }) as f32
            })
            .collect()
    };
    let values = if fortran && shape.len() > 1 {
        fortran_to_c(&values, &shape)
    } else {
        values
    };
    Ok((values, shape))
}

/// Reorders a Fortran-order (first index fastest) array into C order.
fn fortran_to_c(values: &[f32], shape: &[usize]) -> Vec<f32> {
    // C strides.
    let mut strides = vec![1usize; shape.len()];
    for d in (0..shape.len() - 1).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let mut out = vec![0.0f32; values.len()];
    let mut idx = vec![0usize; shape.len()];
    for &v in values {
        let offset: usize = idx.iter().zip(&strides).map(|(i, s)| i * s).sum();
        out[offset] = v;
        for (i, &n) in idx.iter_mut().zip(shape) {
            *i += 1;
            if *i < n {
                break;
            }
            *i = 0;
        }
    }
    out
}

/// The text after `'key':` in a Python dict literal, up to the next top-level comma.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat_single = format!("'{key}':");
    let pat_double = format!("\"{key}\":");
    let start = header
        .find(&pat_single)
        .map(|i| i + pat_single.len())
        .or_else(|| header.find(&pat_double).map(|i| i + pat_double.len()))?;
    let rest = header[start..].trim_start();
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&rest[..=i]);
                }
            }
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

fn parse_shape(s: &str) -> Option<Vec<usize>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.trim_end_matches('L').parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_header_layout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let data: Vec<f32> = (0..6).map(|i| i as f32 * 0.5 - 1.0).collect();
        write_npy_f32(&p, &data, &[2, 3]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        // numpy.save's own header for this array (np.save('a.npy', np.zeros((2,3), 'f4'))):
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        assert_eq!(&bytes[10..10 + header.len()], header.as_bytes());
        assert_eq!((bytes.len() - 24) % 64, 0);
        assert_eq!(
            bytes[10 + usize::from(u16::from_le_bytes([bytes[8], bytes[9]])) - 1],
            b'\n'
        );
        let (back, shape) = read_npy_f32(&p).unwrap();
        assert_eq!(back, data);
        assert_eq!(shape, vec![2, 3]);

        write_npy_f32(&p, &[1.0, 2.0], &[2]).unwrap();
        assert_eq!(read_npy_f32(&p).unwrap(), (vec![1.0, 2.0], vec![2]));
        assert!(matches!(
            write_npy_f32(&p, &[1.0], &[2]),
            Err(Error::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn reads_float64_golden_and_rejects_bad_files() {
        let golden = crate::test_support::golden_dir();
        let (v, shape) =
            read_npy_f32(&golden.join("filters/librosa_mel_sr16000_nfft1024_mels64_float64.npy"))
                .unwrap();
        assert_eq!(shape, vec![64, 513]);
        assert_eq!(v.len(), 64 * 513);
        // Slaney-normalised triangles: row maxima are 2 / bandwidth, all non-negative.
        assert!(v.iter().all(|&x| x >= 0.0) && v.iter().any(|&x| x > 0.0));

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.npy");
        let mut bytes = Vec::from(MAGIC);
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000), }\n";
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&[0; 16]);
        std::fs::write(&p, &bytes).unwrap();
        let err = read_npy_f32(&p).unwrap_err().to_string();
        assert!(
            err.contains("bad.npy") && err.contains("holds 16 bytes"),
            "{err}"
        );
        // Fortran order comes back in C order: np.save(p, np.asfortranarray([[1,2,3],[4,5,6]], 'f4'))
        let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n";
        let mut bytes = Vec::from(MAGIC);
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        for v in [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(
            read_npy_f32(&p).unwrap(),
            (vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![2, 3])
        );
        std::fs::write(&p, b"not npy").unwrap();
        assert!(read_npy_f32(&p).is_err());
        // An empty array whose other dimensions overflow (np.empty((0, 2**40, 2**40)) raises
        // "array is too big"): an error, not an overflow in the Fortran-order strides.
        let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (0, 1099511627776, 1099511627776), }\n";
        let mut bytes = Vec::from(MAGIC);
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        std::fs::write(&p, &bytes).unwrap();
        let err = read_npy_f32(&p).unwrap_err().to_string();
        assert!(err.contains("bad.npy") && err.contains("too big"), "{err}");
        // An empty array of sane shape is fine, in either order.
        let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (0, 3), }\n";
        let mut bytes = Vec::from(MAGIC);
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(read_npy_f32(&p).unwrap(), (vec![], vec![0, 3]));
    }
}
