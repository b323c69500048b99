//! The string section: NUL-terminated strings addressed by byte offset, borrowed in place.

use super::error::BtfError;

/// Checks a string section once at parse time so that later lookups only need to find the NUL.
///
/// A non-empty section must end with NUL; a base (non-split) section must also start with one,
/// so that offset 0 is the empty name. An empty section is valid (split BTF often has one).
pub(crate) fn check_section(section: &[u8], is_split: bool) -> Result<(), BtfError> {
    if section.is_empty() {
        return Ok(());
    }
    if !is_split && section[0] != 0 {
        return Err(BtfError::BadStringSection {
            reason: "first byte is not NUL",
        });
    }
    if section[section.len() - 1] != 0 {
        return Err(BtfError::BadStringSection {
            reason: "last byte is not NUL",
        });
    }
    Ok(())
}

/// The bytes (without NUL) of the string starting at `local`, which the caller has checked is
/// inside `section`; `offset` is the global offset used in errors.
pub(crate) fn bytes_at(section: &[u8], local: usize, offset: u32) -> Result<&[u8], BtfError> {
    let tail = section.get(local..).unwrap_or(&[]);
    let nul = memchr::memchr(0, tail).ok_or(BtfError::UnterminatedString { offset })?;
    Ok(&tail[..nul])
}

/// Whether `section` holds `name` as one complete string. A linear scan without any index:
/// cheap enough to probe a module's BTF for a type name before parsing its types.
pub(crate) fn section_contains(section: &[u8], name: &[u8]) -> bool {
    section.split(|&b| b == 0).any(|s| s == name)
}
