//! Bounded decompression of xz and zstd files: the output may never exceed a limit, and the
//! decoders' own memory (dictionary, window) is capped too, so a hostile or broken file is a
//! typed error, never an out-of-memory kill.

use std::io::{self, Read};

use super::format::Compression;

/// Most bytes a compressed BTF file may inflate to by default: 512 MiB.
///
/// Debian's largest kernel module inflates to about 20 MiB and an uncompressed vmlinux ELF
/// without DWARF to about 60 MiB; a vmlinux with full debug information can reach a few
/// hundred MiB. Use [`BtfFile::open_with_limit`](super::BtfFile::open_with_limit) for more.
pub const MAX_INFLATED_LEN: u64 = 512 << 20;

/// Largest xz dictionary (decoder memory) accepted: `xz -9` uses 64 MiB, kernel modules 1 MiB.
const XZ_MEMLIMIT: u64 = 256 << 20;
/// Largest zstd window accepted: `zstd --ultra -22` uses 128 MiB, kernel modules far less.
const ZSTD_MAX_WINDOW: u64 = 128 << 20;

/// Why decompression stopped.
#[derive(Debug)]
pub(crate) enum InflateError {
    /// The output would exceed the limit.
    TooLarge,
    /// The decoder refused the data (corrupt, truncated, unsupported options, memory limit).
    Corrupt(io::Error),
}

/// Decompresses all of `input` (every concatenated stream or frame), to at most `limit` bytes.
pub(crate) fn inflate(
    compression: Compression,
    input: &[u8],
    limit: u64,
) -> Result<Vec<u8>, InflateError> {
    // Module compression ratios are 3-5x: one guess avoids most regrowth, capped by the limit.
    let guess = (input.len() as u64).saturating_mul(4).min(limit);
    let mut out = Vec::with_capacity(usize::try_from(guess).unwrap_or(0));
    match compression {
        Compression::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMLIMIT,
                liblzma::stream::CONCATENATED,
            )
            .map_err(|error| InflateError::Corrupt(error.into()))?;
            let decoder = liblzma::read::XzDecoder::new_stream(input, stream);
            read_bounded(decoder, &mut out, limit)?;
        }
        Compression::Zstd => {
            let mut rest = input;
            loop {
                let decoder = ruzstd::decoding::StreamingDecoder::new_with_max_window_size(
                    &mut rest,
                    ZSTD_MAX_WINDOW,
                )
                .map_err(|error| InflateError::Corrupt(io::Error::other(error)))?;
                read_bounded(decoder, &mut out, limit)?;
                if rest.is_empty() {
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// Appends everything `reader` yields to `out`, failing once `out` would pass `limit` bytes.
fn read_bounded(reader: impl Read, out: &mut Vec<u8>, limit: u64) -> Result<(), InflateError> {
    let room = limit.saturating_sub(out.len() as u64);
    // One byte more than allowed tells "exactly at the limit" from "past it".
    let read = reader
        .take(room.saturating_add(1))
        .read_to_end(out)
        .map_err(InflateError::Corrupt)?;
    if read as u64 > room {
        return Err(InflateError::TooLarge);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        liblzma::read::XzEncoder::new(data, 6)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn xz_round_trip_and_limit() {
        let data = vec![7u8; 100_000];
        let packed = xz(&data);
        assert_eq!(inflate(Compression::Xz, &packed, 100_000).unwrap(), data);
        assert!(matches!(
            inflate(Compression::Xz, &packed, 99_999),
            Err(InflateError::TooLarge)
        ));
        // Two concatenated streams are one file (as `cat a.xz b.xz` makes).
        let twice = [packed.clone(), packed.clone()].concat();
        assert_eq!(
            inflate(Compression::Xz, &twice, 1 << 20).unwrap().len(),
            200_000
        );
    }

    #[test]
    fn corrupt_and_truncated_are_errors() {
        let packed = xz(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(matches!(
            inflate(Compression::Xz, &packed[..packed.len() - 3], 1 << 20),
            Err(InflateError::Corrupt(_))
        ));
        let mut flipped = packed.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0xff;
        assert!(inflate(Compression::Xz, &flipped, 1 << 20).is_err());
        assert!(matches!(
            inflate(Compression::Zstd, &[0x28, 0xb5, 0x2f, 0xfd, 0xff], 1 << 20),
            Err(InflateError::Corrupt(_))
        ));
    }

    /// A zstd frame by hand: a raw block holding `data` (no compression needed for the
    /// decoder's sake), and one RLE block of `rle_len` copies of a byte.
    fn zstd_frame(data: &[u8], rle_len: u32) -> Vec<u8> {
        let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd];
        // Frame header: no content size, checksum or dictionary; window 2^(10 + 7) = 128 KiB.
        frame.push(0x00);
        frame.push(7 << 3);
        let raw_header = (data.len() as u32) << 3; // block type 0 (raw), not last
        frame.extend_from_slice(&raw_header.to_le_bytes()[..3]);
        frame.extend_from_slice(data);
        let rle_header = (rle_len << 3) | 0b010 | 1; // RLE block, last
        frame.extend_from_slice(&rle_header.to_le_bytes()[..3]);
        frame.push(b'z');
        frame
    }

    #[test]
    fn zstd_frames_and_limit() {
        let frame = zstd_frame(b"hello", 1000);
        let out = inflate(Compression::Zstd, &frame, 1 << 20).unwrap();
        assert_eq!(&out[..5], b"hello");
        assert_eq!(out.len(), 1005);
        assert!(out[5..].iter().all(|&b| b == b'z'));
        let twice = [frame.clone(), frame.clone()].concat();
        assert_eq!(
            inflate(Compression::Zstd, &twice, 1 << 20).unwrap().len(),
            2010
        );
        assert!(matches!(
            inflate(Compression::Zstd, &twice, 2009),
            Err(InflateError::TooLarge)
        ));
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        // RLE blocks inflate 4 bytes to 128 KiB each: 400 of them claim 50 MiB.
        let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3];
        for i in 0..400u32 {
            let last = u32::from(i == 399);
            let header = ((128 * 1024 - 1) << 3) | 0b010 | last;
            frame.extend_from_slice(&header.to_le_bytes()[..3]);
            frame.push(0);
        }
        assert!(matches!(
            inflate(Compression::Zstd, &frame, 1 << 20),
            Err(InflateError::TooLarge)
        ));
    }
}
