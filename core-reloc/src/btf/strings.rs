//! The string section: NUL-terminated strings addressed by byte offset, borrowed in place.

use memchr::memmem;

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

/// Searches string sections for one exact, complete string: the one "does this string table
/// contain NAME" of the crate (the module probe, [`Btf::own_strings_contain`](super::Btf::own_strings_contain)
/// and the name lookups' pre-filter all use it). A SIMD substring search (`memchr::memmem`)
/// for `"\0name\0"`: about 40 us over vmlinux's 2 MB of strings.
pub(crate) struct StringFinder {
    name_len: usize,
    /// `"\0name\0"`: a complete string anywhere after the first.
    delimited: memmem::Finder<'static>,
}

impl StringFinder {
    /// `None` for names no string can be (empty, or containing NUL).
    pub(crate) fn new(name: &str) -> Option<StringFinder> {
        StringFinder::from_bytes(name.as_bytes())
    }

    pub(crate) fn from_bytes(name: &[u8]) -> Option<StringFinder> {
        if name.is_empty() || name.contains(&0) {
            return None;
        }
        let mut needle = Vec::with_capacity(name.len() + 2);
        needle.push(0);
        needle.extend_from_slice(name);
        needle.push(0);
        Some(StringFinder {
            name_len: name.len(),
            delimited: memmem::Finder::new(&needle).into_owned(),
        })
    }

    /// Whether the string starting at byte 0 of `section` is the name. A split string section
    /// does not start with NUL (its first string sits at offset 0), so it has no delimiter.
    fn at_start(&self, section: &[u8]) -> bool {
        let needle = self.delimited.needle();
        section.len() > self.name_len
            && section[..self.name_len] == needle[1..=self.name_len]
            && section[self.name_len] == 0
    }

    /// Whether `section` holds the name as a complete NUL-terminated string.
    pub(crate) fn is_in(&self, section: &[u8]) -> bool {
        self.at_start(section) || self.delimited.find(section).is_some()
    }
}

/// Every offset in `section` at which the string read is `name` (NUL-free, non-empty), in
/// ascending order: whole strings, and also the tails of longer strings, since a name offset
/// may point into the middle of a string. One SIMD substring search for `"name\0"`.
pub(crate) fn offsets_of(section: &[u8], name: &[u8]) -> Vec<u32> {
    let mut needle = Vec::with_capacity(name.len() + 1);
    needle.extend_from_slice(name);
    needle.push(0);
    memmem::find_iter(section, &needle)
        .map(|at| at as u32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::StringFinder;

    #[test]
    fn finds_complete_strings_only() {
        let finder = StringFinder::new("inode").unwrap();
        assert!(finder.is_in(b"\0a\0inode\0b\0"));
        assert!(finder.is_in(b"inode\0b\0")); // split section: first string at offset 0
        assert!(finder.is_in(b"\0inode\0"));
        assert!(!finder.is_in(b"\0btrfs_inode\0"));
        assert!(!finder.is_in(b"\0inode_x\0"));
        assert!(!finder.is_in(b"inode")); // not terminated
        assert!(!finder.is_in(b""));
        assert!(StringFinder::new("").is_none());
        assert!(StringFinder::new("a\0b").is_none());
        assert_eq!(super::offsets_of(b"inode\0x\0inode\0", b"inode"), [0, 8]);
        // The tail of a longer string is a string too.
        assert_eq!(super::offsets_of(b"\0btrfs_inode\0", b"inode"), [7]);
    }
}
