//! The name probe: which modules may define a type called `name`, without parsing them.
//!
//! For a module not yet parsed, the probe reads only the header and the string section of its
//! file (two `pread`s into one reused buffer) and runs a substring search for the
//! NUL-delimited name. On the Debian 6.12 directory (4230 modules) that reads 30 MB of 73 MB;
//! most of the cost is opening the files, so [`CompositeBtf::probe_many`] looks for many
//! names in one pass, and splits the modules over up to 8 threads (one per 256 modules).
//!
//! A name that vmlinux's strings already hold is the exception: split BTF names a type by
//! its base's string when there is one, so such a module type leaves no trace in the
//! module's own strings (on Debian 6.12, 1,344 module structs, unions, enums and typedefs
//! that vmlinux lacks, `struct mtd_info` among them). For those names each module not yet
//! parsed is parsed, not kept, and its own types answer.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use object::ReadCache;

use crate::btf::strings::StringFinder;
use crate::btf::{BtfError, Header};
use crate::btf_file::{BtfFile, BtfFileError, ElfBtfError, MAGIC_LEN, Magic, locate_in_elf, sniff};

use super::probe_memo::NameId;
use super::{CompositeBtf, ModuleBytes, ModuleError, ModuleSlot, own_types_named};

/// The outcome of probing all modules for one name.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// Modules that may define a type with the name, in name order. For parsed modules, and
    /// for a name vmlinux's strings hold (the module's types were looked at), this is exact;
    /// for the others it means "their string section holds the name", which also matches
    /// members, enumerators, functions or parameters of that name: parse to confirm.
    pub candidates: Vec<Arc<str>>,
    /// Modules that could not be probed (unreadable, vanished, bad header) or whose earlier
    /// parse failed. Never silently skipped; the new ones are also logged as warnings.
    pub errors: Vec<ModuleError>,
    /// Modules whose files or blobs were scanned (parsed or failed ones are not, nor those
    /// that answered from what an earlier probe learned).
    pub scanned: usize,
    /// Bytes read from files by this probe (BTF headers and string sections; whole files
    /// for compressed modules).
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
    /// is parsed; each module's answer is remembered, so a module is scanned for a name once
    /// per composite. Failures are returned in [`Probe::errors`] and logged (and tried again
    /// by the next probe).
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
    ///
    /// What a scan learns is kept (see the module documentation): a module already scanned
    /// for a name is answered from memory, so repeating a probe reads nothing.
    pub fn probe_many<S: AsRef<str>>(&self, names: &[S]) -> ProbeMany {
        let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        let finders: Vec<Option<StringFinder>> =
            names.iter().map(|name| StringFinder::new(name)).collect();
        let mut probe = ProbeMany::default();
        if finders.iter().all(Option::is_none) {
            probe.candidates = names.iter().map(|n| (n.to_string(), Vec::new())).collect();
            return probe;
        }
        let ids: Vec<Option<NameId>> = names
            .iter()
            .zip(&finders)
            .map(|(name, finder)| finder.as_ref().map(|_| self.probed_names.id(name)))
            .collect();
        let in_vmlinux_strings: Vec<bool> = names
            .iter()
            .map(|name| self.vmlinux.own_strings_may_name(name))
            .collect();
        let wanted = Wanted {
            composite: self,
            names: &names,
            finders: &finders,
            ids: &ids,
            in_vmlinux_strings: &in_vmlinux_strings,
        };
        // Opening thousands of files dominates: split them over threads, each scanning a
        // contiguous run so the merged answers keep the modules' (name) order.
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_PROBE_THREADS)
            .min(self.modules.len().div_ceil(MIN_MODULES_PER_THREAD))
            .max(1);
        let runs: Vec<RunOutcome> = if threads == 1 {
            vec![wanted.scan(&self.modules)]
        } else {
            let chunk = self.modules.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let handles: Vec<_> = self
                    .modules
                    .chunks(chunk)
                    .map(|slots| scope.spawn(|| wanted.scan(slots)))
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| {
                        handle
                            .join()
                            .unwrap_or_else(|p| std::panic::resume_unwind(p))
                    })
                    .collect()
            })
        };
        let mut found: Vec<Vec<Arc<str>>> = vec![Vec::new(); names.len()];
        for run in runs {
            for (all, some) in found.iter_mut().zip(run.found) {
                all.extend(some);
            }
            probe.errors.extend(run.errors);
            probe.scanned += run.scanned;
            probe.bytes_read += run.bytes_read;
        }
        probe.candidates = names.iter().map(|n| n.to_string()).zip(found).collect();
        probe
    }
}

/// At most this many threads probe at once.
const MAX_PROBE_THREADS: usize = 8;
/// A thread is worth starting for this many modules (about a millisecond of opening files).
const MIN_MODULES_PER_THREAD: usize = 256;

/// The names one [`CompositeBtf::probe_many`] looks for.
struct Wanted<'a> {
    composite: &'a CompositeBtf,
    names: &'a [&'a str],
    finders: &'a [Option<StringFinder>],
    ids: &'a [Option<NameId>],
    /// Per name: vmlinux's strings hold it, so a module type of that name is named from
    /// there and its own strings need not hold it (see [`Wanted::scan`]).
    in_vmlinux_strings: &'a [bool],
}

/// What probing a run of modules found: per name, the candidate modules in slot order.
struct RunOutcome {
    found: Vec<Vec<Arc<str>>>,
    errors: Vec<ModuleError>,
    scanned: usize,
    bytes_read: u64,
}

impl Wanted<'_> {
    fn scan(&self, slots: &[ModuleSlot]) -> RunOutcome {
        let names = self.names;
        let mut run = RunOutcome {
            found: vec![Vec::new(); names.len()],
            errors: Vec::new(),
            scanned: 0,
            bytes_read: 0,
        };
        let found = &mut run.found;
        let mut buf = Vec::new();
        let mut wanted: Vec<usize> = Vec::new();
        let mut answers: Vec<(NameId, bool)> = Vec::new();
        for slot in slots {
            if let Some(outcome) = slot.outcome.get() {
                match &outcome.result {
                    Ok(btf) => {
                        for (i, name) in names.iter().enumerate() {
                            if self.finders[i].is_some()
                                && own_types_named(btf, name).next().is_some()
                            {
                                found[i].push(slot.name().clone());
                            }
                        }
                    }
                    Err(error) => run.errors.push(error.clone()),
                }
                continue;
            }
            wanted.clear();
            slot.memo.lookup(self.ids, |i, known| match known {
                Some(true) => found[i].push(slot.name().clone()),
                Some(false) => {}
                None => wanted.push(i),
            });
            if wanted.is_empty() {
                continue;
            }
            run.scanned += 1;
            slot.probes.fetch_add(1, Ordering::Relaxed);
            answers.clear();
            let mut answer = |i: usize, hit: bool| {
                if let Some(id) = self.ids[i] {
                    answers.push((id, hit));
                }
                if hit {
                    found[i].push(slot.name().clone());
                }
            };
            let scanned = if wanted.iter().any(|&i| self.in_vmlinux_strings[i]) {
                // Split BTF reuses its base's strings: a module struct called `mtd_info`
                // names itself by vmlinux's string "mtd_info" when vmlinux has one (a member
                // or function of that name, say), so the module's strings cannot answer.
                // Its types can: parse it, without keeping it, and look.
                let (load, parsed) = self.composite.load_slot(slot);
                parsed.map(|btf| {
                    for &i in &wanted {
                        answer(i, own_types_named(&btf, names[i]).next().is_some());
                    }
                    load.map_or(0, |load| load.bytes as u64)
                })
            } else {
                scan_strings(slot, &mut buf, &mut |section| {
                    for &i in &wanted {
                        answer(
                            i,
                            self.finders[i].as_ref().is_some_and(|f| f.is_in(section)),
                        );
                    }
                })
            };
            match scanned {
                Ok(read) => {
                    run.bytes_read += read;
                    slot.probe_bytes_read.fetch_add(read, Ordering::Relaxed);
                    slot.memo.remember(answers.iter().copied());
                }
                Err(error) => {
                    // Not remembered: the next probe tries this module again.
                    log::warn!("probing for {names:?}: {error}");
                    run.errors.push(error);
                }
            }
        }
        run
    }
}

/// Hands `check` the string section of a module not yet parsed; returns the bytes read from
/// its file (0 for blobs, scanned in memory).
fn scan_strings(
    slot: &ModuleSlot,
    buf: &mut Vec<u8>,
    check: &mut dyn FnMut(&[u8]),
) -> Result<u64, ModuleError> {
    let name = slot.name();
    match &slot.bytes {
        ModuleBytes::Blob(blob) => {
            let file =
                BtfFile::parse(&blob[..]).map_err(|error| ModuleError::from_file(name, error))?;
            let header =
                Header::parse(&file.btf).map_err(|error| ModuleError::from_btf(name, error))?;
            check(&file.btf[header.str_range()]);
            Ok(0)
        }
        ModuleBytes::File(path) => match read_string_section(path, buf) {
            Ok(read) => {
                check(buf);
                Ok(read)
            }
            Err(ProbeReadError::Io(source)) => Err(ModuleError::Io {
                module: name.clone(),
                path: path.clone(),
                source: Arc::new(source),
            }),
            Err(ProbeReadError::Invalid(error)) => Err(ModuleError::from_btf(name, error)),
            Err(ProbeReadError::File(error)) => {
                Err(ModuleError::from_file(name, error.with_path(path)))
            }
        },
    }
}

/// Longest header read: the 32-byte header with a layout section. Only its first 24 bytes
/// (through `str_len`) matter to the probe.
const HEADER_READ_LEN: usize = 32;

/// A probe of one file could not be completed.
pub(crate) enum ProbeReadError {
    Io(io::Error),
    Invalid(BtfError),
    File(BtfFileError),
}

impl From<io::Error> for ProbeReadError {
    fn from(error: io::Error) -> Self {
        ProbeReadError::Io(error)
    }
}

/// String sections larger than this are checked against the file's size before a buffer is
/// sized for them, so a corrupt header cannot make the probe allocate gigabytes. Real module
/// string sections are at most a few hundred KiB.
const LARGE_STRINGS: u64 = 1 << 20;

/// Reads the string section of the module file at `path` into `buf` (reused across modules
/// so that probing thousands of files allocates once). Returns the number of bytes read.
///
/// Raw BTF costs two `pread`s (header, strings); an ELF module a few more for its section
/// headers (not counted in the result); a compressed module is read and inflated whole.
pub(crate) fn read_string_section(path: &Path, buf: &mut Vec<u8>) -> Result<u64, ProbeReadError> {
    let file = File::open(path)?;
    let mut header = [0u8; HEADER_READ_LEN];
    let header_len = read_full_at(&file, &mut header, 0)?;
    let start = &header[..header_len];
    match sniff(start) {
        Magic::Btf => read_btf_strings(&file, 0, None, start, buf),
        Magic::Elf => {
            let located = locate_in_elf(&ReadCache::new(&file)).map_err(|error| match error {
                ElfBtfError::Malformed(_) => {
                    // The section headers may simply not be readable: tell I/O apart.
                    match file.metadata() {
                        Err(io) => ProbeReadError::Io(io),
                        Ok(_) => ProbeReadError::File(elf_file_error(error)),
                    }
                }
                other => ProbeReadError::File(elf_file_error(other)),
            })?;
            let (offset, size) = located.btf;
            let mut header = [0u8; HEADER_READ_LEN];
            let want = size.min(HEADER_READ_LEN as u64) as usize;
            let header_len = read_full_at(&file, &mut header[..want], offset)?;
            let read = read_btf_strings(&file, offset, Some(size), &header[..header_len], buf)?;
            Ok(read + header_len as u64)
        }
        Magic::Compressed(_) => {
            let bytes = std::fs::read(path)?;
            let read = bytes.len() as u64;
            let found = BtfFile::parse(bytes).map_err(ProbeReadError::File)?;
            let header = Header::parse(&found.btf).map_err(ProbeReadError::Invalid)?;
            buf.clear();
            buf.extend_from_slice(&found.btf[header.str_range()]);
            Ok(read)
        }
        Magic::Unknown => Err(ProbeReadError::File(BtfFileError::UnknownFormat {
            path: None,
            inflated: None,
            magic: start[..start.len().min(MAGIC_LEN)].to_vec(),
        })),
    }
}

/// Reads the string section of the BTF whose header (`first`, its first bytes) starts at
/// `base` in `file`; `section_len` bounds it inside an ELF section. Returns the bytes read
/// (the header's included for raw BTF, where it was the file's first read).
fn read_btf_strings(
    file: &File,
    base: u64,
    section_len: Option<u64>,
    first: &[u8],
    buf: &mut Vec<u8>,
) -> Result<u64, ProbeReadError> {
    let header = Header::decode(first).map_err(ProbeReadError::Invalid)?;
    let (hdr_len, str_off, str_len) = (header.hdr_len, header.str_off, header.str_len);
    let start = u64::from(hdr_len) + u64::from(str_off);
    let end = start + u64::from(str_len);
    let limit = match section_len {
        Some(len) => Some(len),
        None if u64::from(str_len) > LARGE_STRINGS => Some(file.metadata()?.len()),
        None => None,
    };
    let out_of_bounds = |available: u64| {
        // Same verdict the parser would give on the whole BTF.
        ProbeReadError::Invalid(BtfError::SectionOutOfBounds {
            section: "string",
            offset: str_off,
            len: str_len,
            available: available.saturating_sub(u64::from(hdr_len)) as usize,
        })
    };
    if let Some(limit) = limit
        && end > limit
    {
        return Err(out_of_bounds(limit));
    }
    buf.clear();
    buf.resize(str_len as usize, 0);
    let got = read_full_at(file, buf, base + start)?;
    if got < buf.len() {
        return Err(out_of_bounds(start + got as u64));
    }
    let header_read = if base == 0 { first.len() as u64 } else { 0 };
    Ok(header_read + got as u64)
}

fn elf_file_error(error: ElfBtfError) -> BtfFileError {
    crate::btf_file::elf_error(error)
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
