//! The name probe: which modules may define a type called `name`, without parsing them.
//!
//! For a module not yet parsed, the probe reads only the header and the string section of its
//! file (two `pread`s into one reused buffer) and runs a substring search for the
//! NUL-delimited name. On the Debian 6.12 directory (4230 modules) that reads 30 MB of 73 MB;
//! most of the cost is opening the files, so [`CompositeBtf::probe_many`] looks for many
//! names in one pass.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::btf::strings::StringFinder;
use crate::btf::{BtfError, Header};

use super::{CompositeBtf, ModuleBytes, ModuleError, own_types_named};

/// The outcome of probing all modules for one name.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// Modules that may define a type with the name, in name order. For parsed modules this
    /// is exact; for the others it means "their string section holds the name", which also
    /// matches members, enumerators, functions or parameters of that name: parse to confirm.
    pub candidates: Vec<Arc<str>>,
    /// Modules that could not be probed (unreadable, vanished, bad header) or whose earlier
    /// parse failed. Never silently skipped; the new ones are also logged as warnings.
    pub errors: Vec<ModuleError>,
    /// Modules whose files or blobs were scanned (parsed or failed ones are not).
    pub scanned: usize,
    /// Bytes read from files by this probe (headers and string sections).
    pub bytes_read: u64,
}

/// The outcome of probing all modules for several names in one pass.
#[derive(Debug, Clone, Default)]
pub struct ProbeMany {
    /// For each name, in the order given, the candidate modules (as in
    /// [`Probe::candidates`]).
    pub candidates: Vec<(String, Vec<Arc<str>>)>,
    /// As in [`Probe::errors`]; each module at most once.
    pub errors: Vec<ModuleError>,
    /// As in [`Probe::scanned`].
    pub scanned: usize,
    /// As in [`Probe::bytes_read`]: each file is read once for all names.
    pub bytes_read: u64,
}

impl ProbeMany {
    /// The candidates for `name`; empty if it was not probed.
    pub fn candidates_for(&self, name: &str) -> &[Arc<str>] {
        self.candidates
            .iter()
            .find(|(probed, _)| probed == name)
            .map_or(&[], |(_, modules)| modules.as_slice())
    }
}

impl CompositeBtf {
    /// Modules that may define a type called `name`, without parsing any: the
    /// [`candidates`](Probe::candidates) of [`probe`](Self::probe) (errors are logged).
    ///
    /// May report false positives for modules not yet parsed (a member, enumerator or
    /// function of that name also matches); confirm by parsing.
    pub fn modules_containing(&self, name: &str) -> Vec<String> {
        self.probe(name)
            .candidates
            .iter()
            .map(|module| module.to_string())
            .collect()
    }

    /// Scans every module for `name`. Parsed modules are answered exactly (do they define a
    /// type of that name); the others by a substring search for the NUL-terminated name in
    /// their string section, reading from a file only its header and string section. Nothing
    /// is parsed or cached; failures are returned in [`Probe::errors`] and logged.
    ///
    /// ```
    /// use core_reloc::btf::{Btf, BtfBuilder, IntEncoding, MemberSpec};
    /// use core_reloc::composite::CompositeBtf;
    ///
    /// let mut vmlinux = BtfBuilder::new();
    /// let int = vmlinux.add_int("int", 4, IntEncoding::SIGNED);
    /// let vmlinux = vmlinux.build();
    /// let base = Btf::parse(&vmlinux[..])?;
    /// let mut ext4 = BtfBuilder::new_split(&base);
    /// ext4.add_struct("ext4_inode_info", 8, &[MemberSpec::new("i_flags", int, 0)]);
    /// let mut ext2 = BtfBuilder::new_split(&base);
    /// ext2.add_struct("ext2_inode_info", 8, &[MemberSpec::new("i_flags", int, 0)]);
    /// let kernel = CompositeBtf::from_blobs(vmlinux.clone(), [("ext4", ext4.build()), ("ext2", ext2.build())])?;
    ///
    /// assert_eq!(kernel.probe("ext4_inode_info").candidates, ["ext4".into()]);
    /// // A member name matches too, until the module is parsed: a false positive.
    /// assert_eq!(kernel.probe("i_flags").candidates.len(), 2);
    /// kernel.module("ext4")?;
    /// assert_eq!(kernel.probe("i_flags").candidates, ["ext2".into()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn probe(&self, name: &str) -> Probe {
        let mut many = self.probe_many(&[name]);
        Probe {
            candidates: many.candidates.pop().map(|(_, c)| c).unwrap_or_default(),
            errors: many.errors,
            scanned: many.scanned,
            bytes_read: many.bytes_read,
        }
    }

    /// Like [`probe`](Self::probe) for several names at once, reading each module once.
    pub fn probe_many<S: AsRef<str>>(&self, names: &[S]) -> ProbeMany {
        let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        let finders: Vec<Option<StringFinder>> =
            names.iter().map(|name| StringFinder::new(name)).collect();
        let mut found: Vec<Vec<Arc<str>>> = vec![Vec::new(); names.len()];
        let mut probe = ProbeMany::default();
        if finders.iter().all(Option::is_none) {
            probe.candidates = names.iter().map(|n| (n.to_string(), Vec::new())).collect();
            return probe;
        }
        let mut buf = Vec::new();
        for slot in &self.modules {
            if let Some(outcome) = slot.outcome.get() {
                match &outcome.result {
                    Ok(btf) => {
                        for (i, name) in names.iter().enumerate() {
                            if finders[i].is_some() && own_types_named(btf, name).next().is_some() {
                                found[i].push(slot.name().clone());
                            }
                        }
                    }
                    Err(error) => probe.errors.push(error.clone()),
                }
                continue;
            }
            probe.scanned += 1;
            slot.probes.fetch_add(1, Ordering::Relaxed);
            let section = match &slot.bytes {
                ModuleBytes::Blob(blob) => Header::parse(blob)
                    .map(|header| &blob[header.str_range()])
                    .map_err(|error| ModuleError::from_btf(slot.name(), error)),
                ModuleBytes::File(path) => match read_string_section(path, &mut buf) {
                    Ok(read) => {
                        probe.bytes_read += read;
                        slot.probe_bytes_read.fetch_add(read, Ordering::Relaxed);
                        Ok(&buf[..])
                    }
                    Err(ProbeReadError::Io(source)) => Err(ModuleError::Io {
                        module: slot.name().clone(),
                        path: path.clone(),
                        source: Arc::new(source),
                    }),
                    Err(ProbeReadError::Invalid(error)) => {
                        Err(ModuleError::from_btf(slot.name(), error))
                    }
                },
            };
            match section {
                Ok(section) => {
                    for (i, finder) in finders.iter().enumerate() {
                        if finder.as_ref().is_some_and(|f| f.is_in(section)) {
                            found[i].push(slot.name().clone());
                        }
                    }
                }
                Err(error) => {
                    log::warn!("probing for {names:?}: {error}");
                    probe.errors.push(error);
                }
            }
        }
        probe.candidates = names.iter().map(|n| n.to_string()).zip(found).collect();
        probe
    }
}

/// Longest header read: the 32-byte header with a layout section. Only its first 24 bytes
/// (through `str_len`) matter to the probe.
const HEADER_READ_LEN: usize = 32;

/// A probe of one file could not be completed.
pub(crate) enum ProbeReadError {
    Io(io::Error),
    Invalid(BtfError),
}

/// Reads the string section of the BTF file at `path` into `buf` (reused across modules so
/// that probing thousands of files allocates once). Returns the number of bytes read.
pub(crate) fn read_string_section(path: &Path, buf: &mut Vec<u8>) -> Result<u64, ProbeReadError> {
    let file = File::open(path).map_err(ProbeReadError::Io)?;
    let mut header = [0u8; HEADER_READ_LEN];
    let header_len = read_full_at(&file, &mut header, 0).map_err(ProbeReadError::Io)?;
    let header = Header::decode(&header[..header_len]).map_err(ProbeReadError::Invalid)?;
    let (hdr_len, str_off, str_len) = (header.hdr_len, header.str_off, header.str_len);
    let start = u64::from(hdr_len) + u64::from(str_off);
    buf.clear();
    buf.resize(str_len as usize, 0);
    let got = read_full_at(&file, buf, start).map_err(ProbeReadError::Io)?;
    if got < buf.len() {
        // Same verdict the parser would give on the whole file.
        let available = (start + got as u64).saturating_sub(u64::from(hdr_len)) as usize;
        return Err(ProbeReadError::Invalid(BtfError::SectionOutOfBounds {
            section: "string",
            offset: str_off,
            len: str_len,
            available,
        }));
    }
    Ok((header_len + got) as u64)
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_errors() {
        assert!(matches!(
            Header::decode(&[0; 10]),
            Err(BtfError::TooShort { .. })
        ));
        assert!(matches!(
            Header::decode(&[0; 24]),
            Err(BtfError::BadMagic { .. })
        ));
        let mut short = [0u8; 24];
        short[..2].copy_from_slice(&crate::bytes::BTF_MAGIC.to_le_bytes());
        short[2] = 1;
        short[4] = 8;
        assert!(matches!(
            Header::decode(&short),
            Err(BtfError::HeaderTooShort { hdr_len: 8 })
        ));
    }
}
