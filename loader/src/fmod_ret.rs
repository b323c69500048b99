//! aya-obj 0.6 refuses a `fmod_ret/` section (its `ProgramSection` has no modify-return
//! program), so the copies of the object that aya and aya-obj parse call those sections
//! `fexit/`. The loader loads these programs itself, with `BPF_MODIFY_RETURN` taken from the
//! original section name; aya's own copy of such a program is never loaded.

use object::read::elf::{FileHeader, SectionHeader};

/// Section-name prefixes renamed, and what they become (never longer, so offsets stay).
const RENAMES: [(&str, &str); 2] = [("fmod_ret/", "fexit/"), ("fmod_ret.s/", "fexit.s/")];

/// Why the object could not be rewritten.
#[derive(Debug, thiserror::Error)]
pub enum DisguiseError {
    /// The ELF headers or section table did not parse.
    #[error("ELF: {0}")]
    Elf(#[from] object::Error),
    /// The `.BTF` section's header did not parse.
    #[error(".BTF header")]
    Btf(#[source] core_reloc::btf::BtfError),
}

/// The object with every `fmod_ret/NAME` (`fmod_ret.s/NAME`) section renamed `fexit/NAME`
/// (`fexit.s/NAME`) in place, padded with NULs: in the section-name table and among the
/// `.BTF` strings, by which `.BTF.ext` names the sections. Returns the object unchanged when
/// it has no such section.
///
/// ```
/// # fn f(object: &[u8]) -> Result<(), core_reloc_loader::fmod_ret::DisguiseError> {
/// let for_aya = core_reloc_loader::fmod_ret::disguise_as_fexit(object)?;
/// assert_eq!(for_aya.len(), object.len());
/// # Ok(()) }
/// ```
pub fn disguise_as_fexit(bytes: &[u8]) -> Result<Vec<u8>, DisguiseError> {
    let header = object::elf::FileHeader64::<object::Endianness>::parse(bytes)?;
    let endian = header.endian()?;
    let sections = header.sections(endian, bytes)?;
    let shstrtab = sections.section(object::SectionIndex(
        header.shstrndx(endian, bytes)? as usize
    ))?;
    let shstrtab_start = shstrtab.sh_offset(endian) as usize;
    let mut edits: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut names: Vec<&[u8]> = Vec::new();
    for section in sections.iter() {
        let name = sections.section_name(endian, section)?;
        if let Some(renamed) = renamed(name) {
            edits.push((shstrtab_start + section.sh_name(endian) as usize, renamed));
            names.push(name);
        }
    }
    if names.is_empty() {
        return Ok(bytes.to_vec());
    }
    if let Some((_, btf)) = sections.section_by_name(endian, b".BTF") {
        let start = btf.sh_offset(endian) as usize;
        let data = btf.data(endian, bytes)?;
        let strings = core_reloc::btf::Header::parse(data)
            .map_err(DisguiseError::Btf)?
            .str_range();
        let table = data.get(strings.clone()).unwrap_or_default();
        for name in &names {
            for at in nul_delimited(table, name) {
                edits.push((
                    start + strings.start + at,
                    renamed(name).unwrap_or_default(),
                ));
            }
        }
    }
    let mut out = bytes.to_vec();
    for (at, replacement) in edits {
        if let Some(slot) = out.get_mut(at..at + replacement.len()) {
            slot.copy_from_slice(&replacement);
        }
    }
    Ok(out)
}

/// `name` renamed and NUL-padded to its length, if it is a modify-return section.
fn renamed(name: &[u8]) -> Option<Vec<u8>> {
    RENAMES.iter().find_map(|(from, to)| {
        let rest = name.strip_prefix(from.as_bytes())?;
        let mut out = [to.as_bytes(), rest].concat();
        out.resize(name.len(), 0);
        Some(out)
    })
}

/// Offsets in `table` of `name` as a whole NUL-terminated string.
fn nul_delimited<'a>(table: &'a [u8], name: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < table.len() {
            let end = table[at..].iter().position(|&b| b == 0).map(|p| at + p)?;
            let start = at;
            at = end + 1;
            if &table[start..end] == name {
                return Some(start);
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_renamed_in_place() {
        assert_eq!(
            renamed(b"fmod_ret/crt_testmod_observe").unwrap(),
            b"fexit/crt_testmod_observe\0\0\0"
        );
        assert_eq!(renamed(b"fmod_ret.s/f").unwrap(), b"fexit.s/f\0\0\0");
        assert_eq!(renamed(b"fexit/f"), None);
        let table = b"\0fmod_ret/f\0xfmod_ret/f\0fmod_ret/f\0";
        assert_eq!(
            nul_delimited(table, b"fmod_ret/f").collect::<Vec<_>>(),
            [1, 24]
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(disguise_as_fexit(b"").is_err());
        assert!(disguise_as_fexit(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]).is_err());
        // Every byte of a real fmod_ret object set to a few values, one at a time: errors or
        // same-length output, never a panic.
        let object = std::fs::read(kernel_fixtures::ebpf_object("testmod_fmodret.bpf.o")).unwrap();
        for at in 0..object.len() {
            for value in [0x00, 0x7f, 0xff] {
                let mut bytes = object.clone();
                bytes[at] = value;
                if let Ok(out) = disguise_as_fexit(&bytes) {
                    assert_eq!(out.len(), bytes.len());
                }
            }
        }
    }
}
