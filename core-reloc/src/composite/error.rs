//! Errors of [`CompositeBtf`](super::CompositeBtf): construction (vmlinux, listing) and
//! per-module failures.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::btf::BtfError;
use crate::btf_file::BtfFileError;

/// Building a [`CompositeBtf`](super::CompositeBtf) failed. Only vmlinux and the listing can
/// fail construction; a broken module fails later, alone, with a [`ModuleError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompositeError {
    /// There is no vmlinux BTF (kernel built without `CONFIG_DEBUG_INFO_BTF`, or not a BTF
    /// directory).
    #[error("vmlinux BTF not found at {}", path.display())]
    VmlinuxMissing {
        /// Where it was expected.
        path: PathBuf,
        /// The `ENOENT` from opening it.
        #[source]
        source: io::Error,
    },
    /// vmlinux BTF exists but could not be read (e.g. `EPERM`/`EACCES`).
    #[error("cannot read vmlinux BTF at {}", path.display())]
    VmlinuxUnreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// vmlinux BTF was read but does not parse.
    #[error("invalid vmlinux BTF{}", path.as_ref().map(|p| format!(" at {}", p.display())).unwrap_or_default())]
    VmlinuxInvalid {
        /// The file, when it came from one.
        path: Option<PathBuf>,
        /// Why it does not parse.
        #[source]
        source: BtfError,
    },
    /// The vmlinux file holds no usable BTF: an ELF without `.BTF`, an unknown format, a
    /// corrupt or oversized compressed file.
    #[error("no vmlinux BTF in {}", path.as_ref().map_or("the given bytes".to_string(), |p| p.display().to_string()))]
    VmlinuxFile {
        /// The file, when it came from one.
        path: Option<PathBuf>,
        /// What is wrong with it.
        #[source]
        source: BtfFileError,
    },
    /// The BTF directory could not be listed.
    #[error("cannot list BTF directory {}", path.display())]
    ListDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Two in-memory module blobs have the same name.
    #[error("module BTF {module:?} given twice")]
    DuplicateModule {
        /// The name.
        module: String,
    },
    /// Two files stand for one module (e.g. `btrfs` and `btrfs.ko` in one directory).
    #[error("module {module:?} has two files: {} and {}", first.display(), second.display())]
    DuplicateModuleFile {
        /// The module name.
        module: String,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A module blob is named `vmlinux` (that name is the base) or has an empty name.
    #[error("{module:?} is not a valid module name")]
    InvalidModuleName {
        /// The name.
        module: String,
    },
}

/// One module's BTF could not be used. Other modules and vmlinux are unaffected.
///
/// Failures are cached: asking again for a failed module returns the same error without
/// touching the file again. The error is cheap to clone (its sources are shared).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// No module of that name was listed (or given) when the composite was built.
    #[error("no module BTF named {module:?}")]
    NotListed {
        /// The name asked for.
        module: String,
    },
    /// The module's BTF file was listed but could not be read: it vanished (`ENOENT`, the
    /// module was unloaded), is not readable (`EPERM`/`EACCES`), or reading failed.
    #[error("module {module}: cannot read BTF file {}", path.display())]
    Io {
        /// The module.
        module: Arc<str>,
        /// Its BTF file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: Arc<io::Error>,
    },
    /// The module's BTF is truncated or corrupt, or does not fit vmlinux as split BTF.
    #[error("module {module}: invalid BTF")]
    Invalid {
        /// The module.
        module: Arc<str>,
        /// Why it does not parse.
        #[source]
        source: Arc<BtfError>,
    },
    /// The module's file holds no usable BTF: an ELF without `.BTF`, an unknown format, a
    /// corrupt or oversized compressed file, or BTF split on a distilled base (`.BTF.base`)
    /// that does not relocate onto this vmlinux.
    #[error("module {module}: no usable BTF{}", path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    File {
        /// The module.
        module: Arc<str>,
        /// Its file, when it came from one.
        path: Option<PathBuf>,
        /// What is wrong with it.
        #[source]
        source: Arc<BtfFileError>,
    },
}

impl ModuleError {
    /// The module this error is about.
    pub fn module(&self) -> &str {
        match self {
            ModuleError::NotListed { module } => module,
            ModuleError::Io { module, .. }
            | ModuleError::Invalid { module, .. }
            | ModuleError::File { module, .. } => module,
        }
    }

    /// The I/O error kind, for [`ModuleError::Io`] (e.g. `NotFound` for a module whose BTF
    /// vanished after listing).
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            ModuleError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    /// Sorts a file loading error into I/O, invalid BTF, or an unusable file.
    pub(crate) fn from_file(module: &Arc<str>, error: BtfFileError) -> ModuleError {
        match error {
            BtfFileError::Io { path, source } => ModuleError::Io {
                module: module.clone(),
                path,
                source: Arc::new(source),
            },
            BtfFileError::Btf { source, .. } => ModuleError::from_btf(module, source),
            other => ModuleError::File {
                module: module.clone(),
                path: other.path().map(Into::into),
                source: Arc::new(other),
            },
        }
    }

    /// A module whose bytes were found but do not parse.
    pub(crate) fn from_btf(module: &Arc<str>, error: BtfError) -> ModuleError {
        ModuleError::Invalid {
            module: module.clone(),
            source: Arc::new(error),
        }
    }
}
