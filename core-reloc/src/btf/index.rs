//! The walk over the type section that checks every record and keeps its offset, so that
//! [`Btf::type_by_id`](super::Btf::type_by_id) is O(1).
//!
//! A record's length depends on its own kind and `vlen`, so a plain walk is one long chain of
//! dependent loads: about 6 ns a record, 0.6 ms for vmlinux's 112k records, most of a parse.
//! Here [`CHAINS`] walks run side by side from evenly spaced starting points, so the CPU
//! overlaps their chains, and are then stitched together: the walk from offset 0 is the truth,
//! and where it reaches an offset that another walk also visited, the rest of that walk is the
//! truth too (a walk is a function of where it is). A walk that starts inside a record reads
//! garbage until it falls in step with the records, in real BTF within a few; a walk that fails
//! restarts 4 bytes on, and where the true walk meets no other walk it simply goes on alone.
//! The offsets and every error are exactly those of a serial walk.

use object::endian::{BigEndian, Endian, LittleEndian};

use super::KIND_SLOTS;
use super::error::BtfError;
use super::kind::Kind;
use super::types::{KIND_MASK, TYPE_HEADER_LEN, TypeId, VLEN_MASK};
use crate::bytes::Endianness;

/// `(info_sz, elem_sz)` per kind number; `None` for kinds that cannot be skipped.
pub(crate) type Strides = [Option<(u8, u8)>; KIND_SLOTS];

/// Walks run side by side.
const CHAINS: usize = 4;
/// Shorter type sections (most module BTF) are walked serially.
const CHAINED_MIN_LEN: usize = 64 * 1024;
/// Bytes per record assumed when reserving offsets: 6.12 vmlinux averages 25.5 and modules
/// 30 to 45, so real data needs one allocation; denser data grows as usual.
const RECORD_BYTES_ESTIMATE: usize = 24;

/// Bytes in a record: header, kind data, and `vlen` elements (at most
/// 12 + 255 + (2^24 - 1) * 255, which fits in 32 bits).
#[inline(always)]
pub(crate) fn record_len(info: u32, info_size: u8, elem_size: u8) -> usize {
    TYPE_HEADER_LEN + usize::from(info_size) + (info & VLEN_MASK) as usize * usize::from(elem_size)
}

/// Checks that the type section is a sequence of whole records of kinds `strides` can skip,
/// and returns each record's offset. The first record gets id `first_type_id`.
pub(crate) fn index_types(
    endian: Endianness,
    section: &[u8],
    strides: &Strides,
    first_type_id: u32,
) -> Result<Vec<u32>, BtfError> {
    // The byte order is fixed per blob, so the walk is compiled once per order.
    let walked = match endian {
        Endianness::Little => walk(LittleEndian, section, strides),
        Endianness::Big => walk(BigEndian, section, strides),
    };
    let offsets = walked.map_err(|(offset, count)| {
        walk_error(
            endian,
            section,
            strides,
            offset,
            id_at(first_type_id, count),
        )
    })?;
    // Type sections are at most 4 GiB, so only a split on a huge base can run out of ids.
    if u32::try_from(offsets.len())
        .ok()
        .and_then(|count| first_type_id.checked_add(count))
        .is_none()
    {
        return Err(BtfError::TooManyTypes);
    }
    Ok(offsets)
}

/// One step: where the record at `pos` ends, or `None` if it cannot be read or skipped.
#[inline(always)]
fn step<E: Endian>(endian: E, section: &[u8], strides: &Strides, pos: usize) -> Option<usize> {
    let header = section.get(pos..pos + TYPE_HEADER_LEN)?;
    let info = endian.read_u32([header[4], header[5], header[6], header[7]]);
    let (info_size, elem_size) = strides[((info >> 24) & KIND_MASK) as usize]?;
    let needed = record_len(info, info_size, elem_size);
    (needed <= section.len() - pos).then_some(pos + needed)
}

/// The offsets, or where the walk failed and how many records came before.
fn walk<E: Endian>(
    endian: E,
    section: &[u8],
    strides: &Strides,
) -> Result<Vec<u32>, (usize, usize)> {
    if section.len() < CHAINED_MIN_LEN {
        let mut offsets = Vec::with_capacity(section.len() / RECORD_BYTES_ESTIMATE);
        walk_on(endian, section, strides, 0, section.len(), &mut offsets)
            .map_err(|pos| (pos, offsets.len()))?;
        return Ok(offsets);
    }
    walk_chained(endian, section, strides)
}

/// The true walk from `pos` until `end` (or the first failure, whose offset is returned).
#[inline(always)]
fn walk_on<E: Endian>(
    endian: E,
    section: &[u8],
    strides: &Strides,
    mut pos: usize,
    end: usize,
    offsets: &mut Vec<u32>,
) -> Result<usize, usize> {
    while pos < end {
        let next = step(endian, section, strides, pos).ok_or(pos)?;
        offsets.push(pos as u32);
        pos = next;
    }
    Ok(pos)
}

/// One of the side-by-side walks, over `[start, end)` of the section.
struct Chain {
    offsets: Vec<u32>,
    /// Runs of `offsets` between failures, in order.
    segments: Vec<Segment>,
    pos: usize,
    end: usize,
}

/// A run of a chain's offsets that ends in a failure at `next`, or (the last run) at
/// `next >= end`, where the next region's records begin.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// One past the run's last index into `offsets`.
    last: usize,
    next: usize,
    failed: bool,
}

fn walk_chained<E: Endian>(
    endian: E,
    section: &[u8],
    strides: &Strides,
) -> Result<Vec<u32>, (usize, usize)> {
    let len = section.len();
    let region = (len / CHAINS) & !3;
    let mut chains: [Chain; CHAINS] = std::array::from_fn(|j| Chain {
        // The first chain's vector becomes the result when it walked without a failure (as
        // on well-formed data): room for every record, so the others append without moving it.
        offsets: Vec::with_capacity(if j == 0 { len } else { region } / RECORD_BYTES_ESTIMATE),
        segments: Vec::new(),
        pos: j * region,
        end: if j + 1 == CHAINS {
            len
        } else {
            (j + 1) * region
        },
    });
    // The hot loop: one step of every chain per round, so that their load chains overlap.
    // Positions and vectors live in locals; a failure or a finished chain leaves the fast
    // path for one careful round.
    let mut pos: [usize; CHAINS] = std::array::from_fn(|j| chains[j].pos);
    let end: [usize; CHAINS] = std::array::from_fn(|j| chains[j].end);
    let mut found: [Vec<u32>; CHAINS] =
        std::array::from_fn(|j| std::mem::take(&mut chains[j].offsets));
    loop {
        while pos[0] < end[0] && pos[1] < end[1] && pos[2] < end[2] && pos[3] < end[3] {
            let (Some(n0), Some(n1), Some(n2), Some(n3)) = (
                step(endian, section, strides, pos[0]),
                step(endian, section, strides, pos[1]),
                step(endian, section, strides, pos[2]),
                step(endian, section, strides, pos[3]),
            ) else {
                break;
            };
            for j in 0..CHAINS {
                found[j].push(pos[j] as u32);
            }
            pos = [n0, n1, n2, n3];
        }
        let mut active = false;
        for j in 0..CHAINS {
            if pos[j] >= end[j] {
                continue;
            }
            active = true;
            match step(endian, section, strides, pos[j]) {
                Some(next) => {
                    found[j].push(pos[j] as u32);
                    pos[j] = next;
                }
                None => {
                    chains[j].segments.push(Segment {
                        last: found[j].len(),
                        next: pos[j],
                        failed: true,
                    });
                    pos[j] += 4;
                }
            }
        }
        if !active {
            break;
        }
    }
    for (j, offsets) in found.into_iter().enumerate() {
        chains[j].offsets = offsets;
        chains[j].pos = pos[j];
    }
    for chain in &mut chains {
        chain.segments.push(Segment {
            last: chain.offsets.len(),
            next: chain.pos,
            failed: false,
        });
    }

    // Stitching: follow the true walk, adopting a chain's run where the two meet. The first
    // chain starts at the truth; without a failure its whole run is the start of the result.
    let clean_start = chains[0].offsets.first() == Some(&0) && !chains[0].segments[0].failed;
    let (mut offsets, mut pos, first) = if clean_start {
        let next = chains[0].segments[0].next;
        (std::mem::take(&mut chains[0].offsets), next, 1)
    } else {
        let total = chains
            .iter()
            .map(|chain| chain.offsets.len())
            .sum::<usize>();
        (Vec::with_capacity(total), 0, 0)
    };
    for chain in &chains[first..] {
        let (mut index, mut segment) = (0usize, 0usize);
        while pos < chain.end {
            while index < chain.offsets.len() && (chain.offsets[index] as usize) < pos {
                index += 1;
            }
            if chain
                .offsets
                .get(index)
                .is_some_and(|&at| at as usize == pos)
            {
                while chain.segments[segment].last <= index {
                    segment += 1;
                }
                let run = chain.segments[segment];
                offsets.extend_from_slice(&chain.offsets[index..run.last]);
                if run.failed {
                    return Err((run.next, offsets.len()));
                }
                pos = run.next;
            } else {
                let next = step(endian, section, strides, pos).ok_or((pos, offsets.len()))?;
                offsets.push(pos as u32);
                pos = next;
            }
        }
    }
    Ok(offsets)
}

/// The typed error for the record at `offset`, where a walk failed.
fn walk_error(
    endian: Endianness,
    section: &[u8],
    strides: &Strides,
    offset: usize,
    id: TypeId,
) -> BtfError {
    let available = section.len() - offset;
    let info = crate::bytes::read_u32(endian, section, offset + 4)
        .filter(|_| available >= TYPE_HEADER_LEN);
    let Some(info) = info else {
        return BtfError::TruncatedType {
            id,
            kind: Kind::Unknown(0),
            offset,
            needed: TYPE_HEADER_LEN as u64,
            available,
        };
    };
    let kind = ((info >> 24) & KIND_MASK) as u8;
    match strides[usize::from(kind)] {
        None => BtfError::UnknownKind { id, offset, kind },
        Some((info_size, elem_size)) => BtfError::TruncatedType {
            id,
            kind: Kind::from_raw(kind),
            offset,
            needed: record_len(info, info_size, elem_size) as u64,
            available,
        },
    }
}

/// The id of the record at `index` of a BTF whose first id is `first_type_id` (for errors).
fn id_at(first_type_id: u32, index: usize) -> TypeId {
    TypeId(first_type_id.saturating_add(u32::try_from(index).unwrap_or(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chained walk against the serial one on sections large enough to be chained:
    /// well-formed ones, and the same cut or corrupted at many places.
    #[test]
    fn chained_walk_equals_the_serial_walk() {
        let mut strides: Strides = [None; KIND_SLOTS];
        strides[1] = Some((4, 0)); // INT
        strides[4] = Some((0, 12)); // STRUCT
        strides[6] = Some((0, 8)); // ENUM
        let mut section = Vec::new();
        let mut state = 0x1234_5678u32;
        while section.len() < 3 * CHAINED_MIN_LEN {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let (kind, vlen, tail) = match state >> 30 {
                0 => (1u32, 0u32, 4usize),
                1 => (4, (state >> 8) % 9, 0),
                2 => (6, (state >> 8) % 5, 0),
                _ => (4, 0, 0),
            };
            let elem = match kind {
                4 => 12,
                6 => 8,
                _ => 0,
            };
            section.extend_from_slice(&(state & 0xffff).to_le_bytes());
            section.extend_from_slice(&(kind << 24 | vlen).to_le_bytes());
            section.extend_from_slice(&state.to_le_bytes());
            // Element words with small values, as names and type ids are.
            for i in 0..(tail + vlen as usize * elem) / 4 {
                section.extend_from_slice(&(i as u32 * 7).to_le_bytes());
            }
        }
        let serial = |bytes: &[u8]| {
            let mut offsets = Vec::new();
            walk_on(LittleEndian, bytes, &strides, 0, bytes.len(), &mut offsets)
                .map(|_| offsets.clone())
                .map_err(|pos| (pos, offsets.len()))
        };
        let expected = serial(&section);
        assert!(expected.is_ok());
        assert_eq!(walk_chained(LittleEndian, &section, &strides), expected);
        for cut in (0..section.len()).step_by(4093) {
            let mut broken = section.clone();
            broken[cut] ^= 0x5a;
            broken[(cut + 7) % section.len()] = 0x7f;
            assert_eq!(
                walk_chained(LittleEndian, &broken, &strides),
                serial(&broken),
                "corrupted at {cut}"
            );
            let truncated = &section[..section.len() - cut / 4];
            assert_eq!(
                walk_chained(LittleEndian, truncated, &strides),
                serial(truncated),
                "cut to {}",
                truncated.len()
            );
        }
    }
}
