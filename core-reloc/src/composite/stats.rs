//! What a [`CompositeBtf`](super::CompositeBtf) has done so far: which modules were parsed and
//! why, and how many bytes were mapped, read or scanned.

use std::fmt;
use std::sync::Arc;

use crate::btf::{LoadInfo, LoadMethod};

use super::ModuleError;

/// Why a module's BTF was parsed, recorded with the first (and only) parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseReason {
    /// Asked for by name ([`CompositeBtf::module`](super::CompositeBtf::module)), e.g. an
    /// explicit `with_module_btf("btrfs")`.
    Requested,
    /// The module owns a program's attach target (from `/proc/kallsyms`).
    AttachTarget {
        /// The attach symbol, e.g. `btrfs_getattr`.
        symbol: String,
    },
    /// A local type had no candidate in vmlinux and the name probe pointed here.
    TypeSearch {
        /// The type name searched for.
        type_name: String,
    },
    /// Anything else the caller wants to record.
    Other(String),
}

impl fmt::Display for ParseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseReason::Requested => f.write_str("requested"),
            ParseReason::AttachTarget { symbol } => write!(f, "attach target {symbol}"),
            ParseReason::TypeSearch { type_name } => write!(f, "search for type {type_name}"),
            ParseReason::Other(reason) => f.write_str(reason),
        }
    }
}

/// Where a module stands.
#[derive(Debug, Clone)]
pub enum ModuleState {
    /// Not parsed (it may have been probed).
    NotParsed,
    /// Parsed, with this many own types (not counting vmlinux's).
    Parsed {
        /// Types the module itself defines.
        own_types: usize,
    },
    /// Parsed and valid, but defines no types (some kernels expose a bare 24-byte header for
    /// modules without BTF of their own). Not an error; reported so it is not mistaken for a
    /// module that lacks a type by accident.
    Empty,
    /// Parsing failed; the error is cached.
    Failed(ModuleError),
}

impl ModuleState {
    /// Whether the module was parsed, successfully or not.
    pub fn is_attempted(&self) -> bool {
        !matches!(self, ModuleState::NotParsed)
    }
}

/// One module's statistics.
#[derive(Debug, Clone)]
pub struct ModuleStats {
    /// The module name.
    pub name: Arc<str>,
    /// Parsed, empty, failed or not yet parsed.
    pub state: ModuleState,
    /// Why it was parsed (the first caller's reason).
    pub reason: Option<ParseReason>,
    /// How its bytes were obtained when parsed (`None` if not parsed or the file could not
    /// be opened).
    pub load: Option<LoadInfo>,
    /// How many times parsing ran: 0 or 1, whatever the number of callers.
    pub parse_runs: u32,
    /// How many name probes scanned this module before it was parsed.
    pub probes: u32,
    /// Bytes those probes read from the file (header and string section only).
    pub probe_bytes_read: u64,
}

/// A snapshot of a [`CompositeBtf`](super::CompositeBtf)'s activity.
#[derive(Debug, Clone)]
pub struct CompositeStats {
    /// How vmlinux was loaded (mapped, read, or given in memory) and its size.
    pub vmlinux: LoadInfo,
    /// Modules listed (or given) at construction.
    pub modules_listed: usize,
    /// Modules parsed successfully, empty ones included.
    pub modules_parsed: usize,
    /// Of those, modules with no types of their own.
    pub modules_empty: usize,
    /// Modules whose parse failed.
    pub modules_failed: usize,
    /// Bytes memory-mapped, vmlinux and modules.
    pub bytes_mapped: u64,
    /// Bytes read with `read()`, vmlinux, modules and probes.
    pub bytes_read: u64,
    /// Of `bytes_read`, what name probes read.
    pub probe_bytes_read: u64,
    /// Bytes handed over in memory (blobs), vmlinux and modules.
    pub bytes_in_memory: u64,
    /// Every module that was parsed (or failed), in name order.
    pub attempted: Vec<ModuleStats>,
}

impl CompositeStats {
    /// Names of the modules parsed successfully (empty ones included), in name order.
    pub fn parsed_names(&self) -> Vec<&str> {
        self.attempted
            .iter()
            .filter(|m| matches!(m.state, ModuleState::Parsed { .. } | ModuleState::Empty))
            .map(|m| &*m.name)
            .collect()
    }

    pub(crate) fn account(&mut self, load: LoadInfo) {
        let bytes = load.bytes as u64;
        match load.method {
            LoadMethod::Mapped => self.bytes_mapped += bytes,
            LoadMethod::Read | LoadMethod::Decompressed => self.bytes_read += bytes,
            LoadMethod::InMemory => self.bytes_in_memory += bytes,
        }
    }
}
