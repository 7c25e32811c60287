//! Checks and rewrites applied to a container's header before Symphonia reads it, for the
//! hostile inputs its readers do not guard against (found by the fuzz targets in `fuzz/`):
//!
//! - a RIFF/WAVE `fmt ` chunk with a zero sample rate makes its WAV reader panic (a zero
//!   time base), wherever in the file the RIFF marker is;
//! - a Vorbis comment (in a FLAC metadata block, an Ogg Vorbis or Opus comment header, an
//!   Ogg FLAC metadata packet) or a FLAC picture declares lengths of up to 4 GiB, which the
//!   readers allocate before reading what is there.
//!
//! auscult only needs the audio: in a FLAC file, metadata other than STREAMINFO and SEEKTABLE
//! is turned into padding, which the reader skips without allocating. Ogg pages carry
//! checksums, so there the comment and picture lengths are checked against their packet.

use std::path::Path;

use std::collections::HashMap;

use crate::decoded::check_stream;
use crate::error::{Error, Result};
use crate::wav_fast::{u16_at, u32_at};

/// FLAC metadata block types (RFC 9639, section 8.1).
const FLAC_PADDING: u8 = 1;
const FLAC_APPLICATION: u8 = 2;
const FLAC_VORBIS_COMMENT: u8 = 4;
const FLAC_CUESHEET: u8 = 5;
const FLAC_PICTURE: u8 = 6;

/// Prepares the stream that starts at a container marker (`bytes`, from the marker on) for
/// Symphonia: returns a rewritten copy when one is needed, `None` to read `bytes` as they are.
///
/// # Errors
/// [`crate::Error::InvalidHeader`] when a WAV header declares an impossible sample rate or
/// channel count.
pub(crate) fn prepare(path: &Path, bytes: &[u8]) -> Result<Option<Vec<u8>>> {
    if bytes.starts_with(b"RIFF") {
        check_riff_header(path, bytes)?;
    } else if bytes.starts_with(b"fLaC") {
        return Ok(strip_flac_metadata(bytes));
    } else if bytes.starts_with(b"OggS") {
        check_ogg_metadata(path, bytes)?;
    }
    Ok(None)
}

/// Checks the `fmt ` chunks of a RIFF/WAVE stream (`bytes` starts at its `RIFF` marker)
/// before Symphonia's WAV reader sees them: it panics on a zero sample rate. The chunks are
/// walked as that reader walks them (2-byte aligned, bounded by the RIFF size, up to the
/// `data` chunk); wherever it would stop with an error of its own, this stops checking.
///
/// # Errors
/// [`Error::InvalidHeader`] when a `fmt ` chunk's sample rate or channel count is out of range.
fn check_riff_header(path: &Path, bytes: &[u8]) -> Result<()> {
    let Some(riff_len) = u32_at(bytes, 4) else {
        return Ok(());
    };
    if bytes.get(8..12) != Some(b"WAVE") {
        return Ok(());
    }
    // Bytes of the RIFF body consumed after the form type, as Symphonia counts them.
    let mut consumed = 0u32;
    let mut pos = 12usize;
    loop {
        if consumed & 1 == 1 {
            let (Some(c), Some(p)) = (consumed.checked_add(1), pos.checked_add(1)) else {
                return Ok(());
            };
            (consumed, pos) = (c, p);
        }
        if u64::from(consumed) + 8 > u64::from(riff_len) {
            return Ok(());
        }
        let (Some(id), Some(size)) = (bytes.get(pos..pos + 4), u32_at(bytes, pos + 4)) else {
            return Ok(());
        };
        consumed += 8;
        if riff_len - consumed < size && !(riff_len == size && size == u32::MAX) {
            return Ok(());
        }
        consumed = consumed.saturating_add(size);
        let body = pos + 8;
        match id {
            b"fmt " if size >= 16 => {
                if let (Some(channels), Some(rate)) =
                    (u16_at(bytes, body + 2), u32_at(bytes, body + 4))
                {
                    check_stream(path, rate, usize::from(channels))?;
                }
            }
            b"data" => return Ok(()),
            _ => {}
        }
        let Some(next) = body.checked_add(size as usize) else {
            return Ok(());
        };
        pos = next;
    }
}

/// A copy of a FLAC stream (`bytes` starts at its `fLaC` marker) whose application, Vorbis
/// comment, cue sheet and picture blocks are marked as padding; `None` when it has none.
fn strip_flac_metadata(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut pos = 4usize;
    while let Some(header) = bytes.get(pos..pos + 4) {
        let (last, kind) = (header[0] & 0x80 != 0, header[0] & 0x7f);
        let len =
            usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]);
        if matches!(
            kind,
            FLAC_APPLICATION | FLAC_VORBIS_COMMENT | FLAC_CUESHEET | FLAC_PICTURE
        ) {
            out.get_or_insert_with(|| bytes.to_vec())[pos] = (header[0] & 0x80) | FLAC_PADDING;
        }
        if last {
            break;
        }
        pos += 4 + len;
    }
    out
}

/// The codec of an Ogg logical stream, from its first packet.
#[derive(Clone, Copy, PartialEq)]
enum OggCodec {
    Vorbis,
    Opus,
    Flac,
    Other,
}

/// Checks the metadata packets of an Ogg stream (`bytes` starts at its first `OggS` page):
/// Vorbis comment headers, Opus tags, and Ogg FLAC Vorbis-comment and picture blocks must not
/// declare more bytes than their packet holds. Packets are reassembled per logical stream as
/// the pages go; pages are not checksummed here (a damaged page only costs a stricter check).
///
/// # Errors
/// [`Error::Damaged`] naming the declared and the available length.
fn check_ogg_metadata(path: &Path, bytes: &[u8]) -> Result<()> {
    // Per serial number: the codec and the packet being assembled.
    let mut streams: HashMap<u32, (OggCodec, Vec<u8>)> = HashMap::new();
    let mut pos = 0usize;
    while let Some(header) = bytes.get(pos..pos + 27).filter(|h| h.starts_with(b"OggS")) {
        let serial = u32::from_le_bytes([header[14], header[15], header[16], header[17]]);
        let n_segments = usize::from(header[26]);
        let Some(lacing) = bytes.get(pos + 27..pos + 27 + n_segments) else {
            break;
        };
        let mut body = pos + 27 + n_segments;
        let stream = streams
            .entry(serial)
            .or_insert_with(|| (OggCodec::Other, Vec::new()));
        for &len in lacing {
            let end = (body + usize::from(len)).min(bytes.len());
            stream.1.extend_from_slice(&bytes[body.min(end)..end]);
            body += usize::from(len);
            if len < 255 {
                let packet = std::mem::take(&mut stream.1);
                stream.0 = check_ogg_packet(path, stream.0, &packet)?;
            }
        }
        pos = body;
    }
    Ok(())
}

/// Checks one Ogg packet of a stream of `codec` (`Other` before its first packet) and returns
/// the stream's codec.
fn check_ogg_packet(path: &Path, codec: OggCodec, packet: &[u8]) -> Result<OggCodec> {
    let damaged = |what: &str, declared: u64, held: usize| Error::Damaged {
        path: path.to_path_buf(),
        reason: format!("{what} declares {declared} bytes but its packet holds {held}"),
    };
    if packet.starts_with(b"\x01vorbis") {
        return Ok(OggCodec::Vorbis);
    }
    if packet.starts_with(b"OpusHead") {
        return Ok(OggCodec::Opus);
    }
    if packet.starts_with(b"\x7fFLAC") {
        return Ok(OggCodec::Flac);
    }
    match codec {
        OggCodec::Vorbis if packet.starts_with(b"\x03vorbis") => {
            check_vorbis_comment(&packet[7..])
                .map_err(|(d, h)| damaged("a Vorbis comment", d, h))?;
        }
        OggCodec::Opus if packet.starts_with(b"OpusTags") => {
            check_vorbis_comment(&packet[8..]).map_err(|(d, h)| damaged("an Opus tag", d, h))?;
        }
        OggCodec::Flac if packet.len() >= 4 && packet[0] != 0xff => match packet[0] & 0x7f {
            FLAC_VORBIS_COMMENT => check_vorbis_comment(&packet[4..])
                .map_err(|(d, h)| damaged("a FLAC Vorbis comment", d, h))?,
            FLAC_PICTURE => {
                check_flac_picture(&packet[4..])
                    .map_err(|(d, h)| damaged("a FLAC picture", d, h))?;
            }
            _ => {}
        },
        _ => {}
    }
    Ok(codec)
}

/// Walks a Vorbis comment (vendor string, count, comments); `Err((declared, held))` for the
/// first length that runs past the end.
fn check_vorbis_comment(b: &[u8]) -> std::result::Result<(), (u64, usize)> {
    let Some(mut rest) = skip_field(b)? else {
        return Ok(());
    };
    let Some(count) = u32_at(rest, 0) else {
        return Ok(());
    };
    rest = &rest[4..];
    for _ in 0..count {
        match skip_field(rest)? {
            Some(after) => rest = after,
            None => break,
        }
    }
    Ok(())
}

/// What follows a field of `b` prefixed by its length (u32, little-endian); `Ok(None)` when
/// `b` is too short for the length itself.
fn skip_field(b: &[u8]) -> std::result::Result<Option<&[u8]>, (u64, usize)> {
    let Some(len) = u32_at(b, 0) else {
        return Ok(None);
    };
    let body = &b[4..];
    body.get(len as usize..)
        .map(Some)
        .ok_or((u64::from(len), body.len()))
}

/// Walks a FLAC picture block's body (type, MIME type, description, four sizes, data);
/// `Err((declared, held))` for the first length that runs past the end.
fn check_flac_picture(b: &[u8]) -> std::result::Result<(), (u64, usize)> {
    let mut pos = 4usize;
    for skip_after in [0usize, 16, 0] {
        let Some(len) = u32_at(b, pos) else {
            return Ok(());
        };
        let held = b.len().saturating_sub(pos + 4);
        if len as usize > held {
            return Err((u64::from(len), held));
        }
        pos += 4 + len as usize + skip_after;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flac_metadata_other_than_stream_info_becomes_padding() {
        // STREAMINFO (34 bytes), a Vorbis comment declaring a 4 GiB vendor string, a
        // SEEKTABLE, then the last block, a picture.
        let mut flac = b"fLaC".to_vec();
        flac.extend([0x00, 0, 0, 34]);
        flac.extend([0u8; 34]);
        flac.extend([
            FLAC_VORBIS_COMMENT,
            0,
            0,
            8,
            0xff,
            0xff,
            0xff,
            0xff,
            0,
            0,
            0,
            0,
        ]);
        flac.extend([3, 0, 0, 0]);
        flac.extend([0x80 | FLAC_PICTURE, 0, 0, 2, 9, 9]);
        flac.extend([0xff, 0xf8]);
        let out = strip_flac_metadata(&flac).unwrap();
        let comment = 4 + 4 + 34;
        assert_eq!(out[comment], FLAC_PADDING);
        assert_eq!(out[comment + 12], 3);
        assert_eq!(out[comment + 16], 0x80 | FLAC_PADDING);
        let changed: Vec<usize> = (0..flac.len()).filter(|&i| flac[i] != out[i]).collect();
        assert_eq!(changed, [comment, comment + 16]);
        // Nothing to strip, or a truncated header: no copy.
        assert_eq!(strip_flac_metadata(&out), None);
        assert_eq!(strip_flac_metadata(b"fLaC\x80\x00"), None);
    }

    #[test]
    fn ogg_comment_lengths_are_checked_against_their_packet() {
        // One page holding a Vorbis identification packet and a comment packet.
        let page = |packets: &[&[u8]]| {
            let mut lacing = Vec::new();
            for p in packets {
                lacing.extend(std::iter::repeat_n(255u8, p.len() / 255));
                lacing.push(u8::try_from(p.len() % 255).unwrap());
            }
            let mut b = b"OggS\0\x02".to_vec();
            b.extend([0u8; 8]); // granule position
            b.extend(7u32.to_le_bytes()); // serial
            b.extend([0u8; 8]); // sequence, checksum
            b.push(u8::try_from(lacing.len()).unwrap());
            b.extend(lacing);
            for p in packets {
                b.extend(*p);
            }
            b
        };
        let comment = |len: u32| {
            let mut c = b"\x03vorbis".to_vec();
            c.extend(3u32.to_le_bytes());
            c.extend(b"abc");
            c.extend(1u32.to_le_bytes());
            c.extend(len.to_le_bytes());
            c.extend(b"A=b\x01");
            c
        };
        let path = Path::new("x.ogg");
        assert!(check_ogg_metadata(path, &page(&[b"\x01vorbis", &comment(3)])).is_ok());
        let e = check_ogg_metadata(path, &page(&[b"\x01vorbis", &comment(0xffff_fff0)]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.ogg") && e.contains("declares 4294967280 bytes but its packet holds 4"),
            "{e}"
        );
        // The same bytes in a stream that is not Vorbis are not a comment header.
        assert!(check_ogg_metadata(path, &page(&[b"\x01other", &comment(0xffff_fff0)])).is_ok());
        // A FLAC picture whose data length runs past the packet.
        let mut picture = vec![0x80 | FLAC_PICTURE, 0, 0, 0];
        picture.extend(3u32.to_le_bytes()); // picture type
        picture.extend(1u32.to_le_bytes());
        picture.push(b'm'); // MIME type
        picture.extend(0u32.to_le_bytes()); // description
        picture.extend([0u8; 16]); // width, height, depth, colours
        picture.extend(0x7fff_ffffu32.to_le_bytes());
        picture.extend([1, 2, 3]);
        let e = check_ogg_metadata(path, &page(&[b"\x7fFLAC", &picture]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a FLAC picture declares 2147483647 bytes"),
            "{e}"
        );
    }

    #[test]
    fn riff_fmt_chunks_are_checked_as_symphonia_walks_them() {
        let path = Path::new("x.wav");
        let wav = |rate: u32, channels: u16, before: &[u8]| {
            let mut b = b"RIFF\0\0\0\0WAVE".to_vec();
            b.extend(before);
            b.extend(b"fmt ");
            b.extend(16u32.to_le_bytes());
            b.extend(1u16.to_le_bytes());
            b.extend(channels.to_le_bytes());
            b.extend(rate.to_le_bytes());
            b.extend([0u8; 8]);
            b.extend(b"data\0\0\0\0");
            let riff_len = u32::try_from(b.len() - 8).unwrap();
            b[4..8].copy_from_slice(&riff_len.to_le_bytes());
            b
        };
        assert!(check_riff_header(path, &wav(8000, 1, b"")).is_ok());
        let e = check_riff_header(path, &wav(0, 1, b""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.wav") && e.contains("sample rate = 0 Hz"),
            "{e}"
        );
        let e = check_riff_header(path, &wav(8000, 0, b""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("channels = 0"), "{e}");
        // After an odd-sized chunk and its pad byte.
        let e = check_riff_header(path, &wav(0, 1, b"junk\x03\0\0\0abc\0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("sample rate = 0 Hz"), "{e}");
    }
}
