//! Where a [`CompositeBtf`]'s BTF comes from, and the constructors that list it: the running
//! kernel's `/sys/kernel/btf`, a directory laid out like it (raw BTF, or a vmlinux ELF and
//! `*.ko`, `*.ko.xz`, `*.ko.zst` modules), explicit files, a `/lib/modules/<release>` tree,
//! or blobs in memory. Every file may be in any format [`BtfFile`] detects by content.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::btf::{Btf, BtfBytes};
use crate::btf_file::{BtfFile, BtfFileError};

use super::{CompositeBtf, CompositeError, ModuleBytes, ModuleSlot, SYS_KERNEL_BTF, VMLINUX};

/// Where a [`CompositeBtf`]'s BTF comes from ([`CompositeBtf::source`]).
///
/// # Examples
///
/// ```
/// use core_reloc::btf::BtfBuilder;
/// use core_reloc::composite::{CompositeBtf, CompositeSource};
/// let kernel = CompositeBtf::from_blobs(BtfBuilder::new().build(), Vec::<(String, Vec<u8>)>::new())?;
/// assert_eq!(kernel.source(), &CompositeSource::Memory);
/// # Ok::<(), core_reloc::composite::CompositeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompositeSource {
    /// A directory laid out like `/sys/kernel/btf`: `vmlinux` and one file per module.
    Directory(PathBuf),
    /// A vmlinux file and module files named one by one.
    Files {
        /// The vmlinux BTF file.
        vmlinux: PathBuf,
    },
    /// A vmlinux file and the modules of a `/lib/modules/<release>` tree.
    ModuleTree {
        /// The vmlinux BTF file.
        vmlinux: PathBuf,
        /// The tree searched for `*.ko`, `*.ko.xz` and `*.ko.zst`.
        tree: PathBuf,
    },
    /// A directory laid out like `/sys/kernel/btf`, and a `/lib/modules/<release>` tree for
    /// the modules the directory lacks.
    DirectoryAndTree {
        /// The directory (vmlinux and per-module BTF).
        dir: PathBuf,
        /// The tree whose `*.ko[.xz|.zst]` stand in for modules missing from `dir`.
        tree: PathBuf,
    },
    /// Blobs handed over in memory.
    Memory,
}

/// The module name a file stands for: `btrfs.ko`, `btrfs.ko.xz` and `btrfs.ko.zst` are
/// `btrfs`, with `-` turned into `_` as the kernel names modules (`crc32c-intel.ko` is
/// `crc32c_intel`); any other name (a `/sys/kernel/btf` entry) is the module name itself.
/// `None` for `vmlinux` and empty names.
///
/// # Examples
///
/// ```
/// use core_reloc::composite::module_name_from_file;
/// assert_eq!(module_name_from_file("crc32c-intel.ko.xz").as_deref(), Some("crc32c_intel"));
/// assert_eq!(module_name_from_file("btrfs").as_deref(), Some("btrfs"));
/// assert_eq!(module_name_from_file("vmlinux"), None);
/// ```
pub fn module_name_from_file(file_name: &str) -> Option<String> {
    if file_name.is_empty() || file_name == VMLINUX {
        return None;
    }
    match kernel_module_stem(file_name) {
        Some(stem) if !stem.is_empty() => Some(stem.replace('-', "_")),
        Some(_) => None,
        None => Some(file_name.to_string()),
    }
}

/// `btrfs` for `btrfs.ko`, `btrfs.ko.xz`, `btrfs.ko.zst`; `None` for other names.
fn kernel_module_stem(file_name: &str) -> Option<&str> {
    [".ko", ".ko.xz", ".ko.zst"]
        .iter()
        .find_map(|suffix| file_name.strip_suffix(suffix))
}

impl CompositeBtf {
    /// The running kernel's BTF, from [`SYS_KERNEL_BTF`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use core_reloc::composite::CompositeBtf;
    /// let kernel = CompositeBtf::from_sys()?;
    /// println!("vmlinux {:?}, {} modules", kernel.stats().vmlinux, kernel.module_names().len());
    /// # Ok::<(), core_reloc::composite::CompositeError>(())
    /// ```
    pub fn from_sys() -> Result<CompositeBtf, CompositeError> {
        CompositeBtf::from_dir(SYS_KERNEL_BTF)
    }

    /// A directory laid out like `/sys/kernel/btf` (e.g. a kernel package's BTF extracted
    /// into `target/kernels/6.12/btf/`). Loads vmlinux (mapping it when possible) and lists
    /// module names; reads no module.
    ///
    /// `vmlinux` may be raw BTF or the vmlinux ELF; every other file is a module, named by
    /// [`module_name_from_file`]: raw BTF named after the module, or a `*.ko`, `*.ko.xz`,
    /// `*.ko.zst` kernel module (formats are told by content when parsed). Two files for one
    /// module (`btrfs` and `btrfs.ko`) are an error. Subdirectories are ignored, and names
    /// that are not UTF-8 are ignored with a warning (module names are ASCII).
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("composite-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// use core_reloc::btf::{Btf, BtfBuilder};
    /// use core_reloc::composite::{CompositeBtf, CompositeError};
    ///
    /// assert!(matches!(CompositeBtf::from_dir(&dir), Err(CompositeError::VmlinuxMissing { .. })));
    /// let vmlinux = BtfBuilder::new().build();
    /// let empty_module = BtfBuilder::new_split(&Btf::parse(&vmlinux[..])?).build();
    /// std::fs::write(dir.join("vmlinux"), &vmlinux)?;
    /// std::fs::write(dir.join("crc16"), &empty_module)?;
    /// let kernel = CompositeBtf::from_dir(&dir)?;
    /// assert_eq!(kernel.module_names().collect::<Vec<_>>(), ["crc16"]);
    /// assert_eq!(kernel.module("crc16")?.own_type_count(), 0); // empty is valid
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<CompositeBtf, CompositeError> {
        let dir = dir.as_ref();
        let vmlinux = open_vmlinux(&dir.join(VMLINUX))?;
        let mut modules = Vec::new();
        list_dir(dir, false, &mut modules)?;
        let modules = unique(modules)?;
        log::debug!("{}: {} modules listed", dir.display(), modules.len());
        Ok(CompositeBtf::assemble(
            CompositeSource::Directory(dir.to_owned()),
            vmlinux,
            modules,
        ))
    }

    /// vmlinux and modules from files named one by one, each of any format (raw BTF, vmlinux
    /// ELF, `.ko`, `.ko.xz`, `.ko.zst`). Loads vmlinux; reads no module until it is asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("composite-files-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// use core_reloc::btf::{Btf, BtfBuilder};
    /// use core_reloc::composite::CompositeBtf;
    ///
    /// let vmlinux = BtfBuilder::new().build();
    /// let module = BtfBuilder::new_split(&Btf::parse(&vmlinux[..])?).build();
    /// std::fs::write(dir.join("vmlinux.btf"), &vmlinux)?;
    /// std::fs::write(dir.join("nfs.btf"), &module)?;
    /// let kernel = CompositeBtf::from_files(dir.join("vmlinux.btf"), [("nfs", dir.join("nfs.btf"))])?;
    /// assert_eq!(kernel.module_names().collect::<Vec<_>>(), ["nfs"]);
    /// assert!(kernel.module("nfs").is_ok());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_files<N, P>(
        vmlinux: impl AsRef<Path>,
        modules: impl IntoIterator<Item = (N, P)>,
    ) -> Result<CompositeBtf, CompositeError>
    where
        N: Into<String>,
        P: Into<PathBuf>,
    {
        let vmlinux_path = vmlinux.as_ref();
        let vmlinux = open_vmlinux(vmlinux_path)?;
        let mut slots = Vec::new();
        for (name, path) in modules {
            let name = checked_name(name.into())?;
            slots.push((name, ModuleBytes::File(path.into())));
        }
        Ok(CompositeBtf::assemble(
            CompositeSource::Files {
                vmlinux: vmlinux_path.to_owned(),
            },
            vmlinux,
            unique(slots)?,
        ))
    }

    /// Like [`from_dir`](Self::from_dir), and the modules of `tree` (a `/lib/modules/<release>`
    /// directory, as for [`from_module_tree`](Self::from_module_tree)) that `dir` lacks: for the
    /// running kernel, `from_dir_and_tree("/sys/kernel/btf", "/lib/modules/$(uname -r)")`
    /// finds the BTF of a loaded module whose `/sys/kernel/btf` entry is missing (the kernel
    /// dropped BTF it could not use), or of a module not loaded yet. A module in both comes
    /// from `dir`. Modules with a distilled base (`.BTF.base`) are relocated onto vmlinux when
    /// parsed, as the kernel does when it loads them.
    ///
    /// # Examples
    ///
    /// ```
    /// # let root = std::env::temp_dir().join(format!("composite-tree-doc-{}", std::process::id()));
    /// # let (dir, tree) = (root.join("btf"), root.join("modules"));
    /// # std::fs::create_dir_all(&dir)?;
    /// # std::fs::create_dir_all(tree.join("kernel/fs"))?;
    /// use core_reloc::btf::{Btf, BtfBuilder};
    /// use core_reloc::composite::CompositeBtf;
    ///
    /// let vmlinux = BtfBuilder::new().build();
    /// let module = BtfBuilder::new_split(&Btf::parse(&vmlinux[..])?).build();
    /// std::fs::write(dir.join("vmlinux"), &vmlinux)?;
    /// std::fs::write(dir.join("nfs"), &module)?;
    /// std::fs::write(tree.join("kernel/fs/nfs.ko"), b"not read: nfs comes from dir")?;
    /// std::fs::write(tree.join("kernel/fs/xfs.ko"), &module)?;
    /// let kernel = CompositeBtf::from_dir_and_tree(&dir, &tree)?;
    /// assert_eq!(kernel.module_names().collect::<Vec<_>>(), ["nfs", "xfs"]);
    /// assert!(kernel.module("nfs").is_ok() && kernel.module("xfs").is_ok());
    /// # std::fs::remove_dir_all(&root)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_dir_and_tree(
        dir: impl AsRef<Path>,
        tree: impl AsRef<Path>,
    ) -> Result<CompositeBtf, CompositeError> {
        let (dir, tree) = (dir.as_ref(), tree.as_ref());
        let vmlinux = open_vmlinux(&dir.join(VMLINUX))?;
        let mut modules = Vec::new();
        list_dir(dir, false, &mut modules)?;
        let mut from_tree = Vec::new();
        list_dir(tree, true, &mut from_tree)?;
        let listed: std::collections::HashSet<String> =
            modules.iter().map(|(name, _)| name.clone()).collect();
        let before = modules.len();
        modules.extend(
            from_tree
                .into_iter()
                .filter(|(name, _)| !listed.contains(name)),
        );
        log::debug!(
            "{}: {before} modules listed, {} more from {}",
            dir.display(),
            modules.len() - before,
            tree.display()
        );
        Ok(CompositeBtf::assemble(
            CompositeSource::DirectoryAndTree {
                dir: dir.to_owned(),
                tree: tree.to_owned(),
            },
            vmlinux,
            unique(modules)?,
        ))
    }

    /// vmlinux from a file (raw BTF or the vmlinux ELF; `/boot/vmlinuz` is a compressed boot
    /// image, not ELF: extract it first) and every `*.ko`, `*.ko.xz` and `*.ko.zst` under
    /// `tree`, a `/lib/modules/<release>` directory (searched recursively; symbolic links
    /// such as `build` and `source` are not followed). Two files for one module are an error.
    ///
    /// Listing reads directories only. A compressed module is inflated when it is probed or
    /// parsed, so probing a tree of compressed modules for a name costs a decompression of
    /// each the first time; the probe keeps what it learned.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use core_reloc::composite::CompositeBtf;
    /// let kernel = CompositeBtf::from_module_tree("vmlinux-6.12.elf", "/lib/modules/6.12.0-amd64")?;
    /// let btrfs = kernel.module("btrfs")?; // kernel/fs/btrfs/btrfs.ko.xz
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_module_tree(
        vmlinux: impl AsRef<Path>,
        tree: impl AsRef<Path>,
    ) -> Result<CompositeBtf, CompositeError> {
        let (vmlinux_path, tree) = (vmlinux.as_ref(), tree.as_ref());
        let vmlinux = open_vmlinux(vmlinux_path)?;
        let mut modules = Vec::new();
        list_dir(tree, true, &mut modules)?;
        let modules = unique(modules)?;
        log::debug!("{}: {} modules listed", tree.display(), modules.len());
        Ok(CompositeBtf::assemble(
            CompositeSource::ModuleTree {
                vmlinux: vmlinux_path.to_owned(),
                tree: tree.to_owned(),
            },
            vmlinux,
            modules,
        ))
    }

    /// In-memory BTF: vmlinux bytes and `(module name, bytes)` pairs, each in any format
    /// [`BtfFile`] detects (raw BTF, ELF, xz, zstd). Raw BTF is not copied for vmlinux
    /// given as a `Vec<u8>`, nor for modules given as `Arc<[u8]>`; modules are parsed on
    /// demand like files.
    ///
    /// # Examples
    ///
    /// ```
    /// use core_reloc::btf::{Btf, BtfBuilder};
    /// use core_reloc::composite::{CompositeBtf, CompositeError};
    ///
    /// let vmlinux = BtfBuilder::new().build();
    /// let module = BtfBuilder::new_split(&Btf::parse(&vmlinux[..])?).build();
    /// let kernel = CompositeBtf::from_blobs(vmlinux.clone(), [("nfs", module.clone())])?;
    /// assert_eq!(kernel.module_names().collect::<Vec<_>>(), ["nfs"]);
    /// let twice = CompositeBtf::from_blobs(vmlinux, [("nfs", module.clone()), ("nfs", module)]);
    /// assert!(matches!(twice, Err(CompositeError::DuplicateModule { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_blobs<N, B>(
        vmlinux: impl Into<BtfBytes<'static>>,
        modules: impl IntoIterator<Item = (N, B)>,
    ) -> Result<CompositeBtf, CompositeError>
    where
        N: Into<String>,
        B: Into<Arc<[u8]>>,
    {
        let vmlinux = BtfFile::parse(vmlinux)
            .map_err(|error| vmlinux_error(None, error))?
            .parse_btf()
            .map_err(|error| vmlinux_error(None, error))?;
        let mut slots = Vec::new();
        for (name, bytes) in modules {
            let name = checked_name(name.into())?;
            slots.push((name, ModuleBytes::Blob(bytes.into())));
        }
        Ok(CompositeBtf::assemble(
            CompositeSource::Memory,
            vmlinux,
            unique(slots)?,
        ))
    }
}

fn checked_name(name: String) -> Result<String, CompositeError> {
    if name.is_empty() || name == VMLINUX || name.contains('/') {
        return Err(CompositeError::InvalidModuleName { module: name });
    }
    Ok(name)
}

/// Loads and parses vmlinux, sorting failures into missing, unreadable, and unusable.
fn open_vmlinux(path: &Path) -> Result<Btf<'static>, CompositeError> {
    let vmlinux = BtfFile::open(path)
        .and_then(BtfFile::parse_btf)
        .map_err(|error| vmlinux_error(Some(path), error))?;
    let load = vmlinux.load_info();
    log::debug!(
        "{}: vmlinux BTF {:?} {} bytes, {} types",
        path.display(),
        load.method,
        load.bytes,
        vmlinux.type_count()
    );
    Ok(vmlinux)
}

fn vmlinux_error(path: Option<&Path>, error: BtfFileError) -> CompositeError {
    match error {
        BtfFileError::Io { path, source } if source.kind() == io::ErrorKind::NotFound => {
            CompositeError::VmlinuxMissing { path, source }
        }
        BtfFileError::Io { path, source } => CompositeError::VmlinuxUnreadable { path, source },
        BtfFileError::Btf { source, .. } => CompositeError::VmlinuxInvalid {
            path: path.map(Path::to_owned),
            source,
        },
        source => CompositeError::VmlinuxFile {
            path: path.map(Path::to_owned),
            source,
        },
    }
}

/// Module files in `dir` (names only; nothing is opened). `tree`: recurse, and take only
/// kernel module files (a `/lib/modules` tree also holds `modules.dep` and such).
fn list_dir(
    dir: &Path,
    tree: bool,
    modules: &mut Vec<(String, ModuleBytes)>,
) -> Result<(), CompositeError> {
    let list_error = |source| CompositeError::ListDir {
        path: dir.to_owned(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(list_error)? {
        let entry = entry.map_err(list_error)?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            log::warn!(
                "{}: ignoring non-UTF-8 entry {:?}",
                dir.display(),
                file_name
            );
            continue;
        };
        // `file_type` comes from the directory entry, no extra syscall on most file systems;
        // it does not follow symbolic links. An entry that vanished meanwhile stays listed:
        // its parse will report it.
        let file_type = entry.file_type();
        if file_type.as_ref().is_ok_and(|t| t.is_dir()) {
            if tree {
                list_dir(&entry.path(), true, modules)?;
            } else {
                log::debug!("{}: ignoring subdirectory {name}", dir.display());
            }
            continue;
        }
        if tree && (file_type.is_ok_and(|t| t.is_symlink()) || kernel_module_stem(name).is_none()) {
            continue;
        }
        if let Some(module) = module_name_from_file(name) {
            modules.push((module, ModuleBytes::File(entry.path())));
        }
    }
    Ok(())
}

/// Slots sorted by name, refusing two sources for one module.
fn unique(mut modules: Vec<(String, ModuleBytes)>) -> Result<Vec<ModuleSlot>, CompositeError> {
    modules.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = modules.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(match (&pair[0].1, &pair[1].1) {
            (ModuleBytes::File(first), ModuleBytes::File(second)) => {
                CompositeError::DuplicateModuleFile {
                    module: pair[0].0.clone(),
                    first: first.clone(),
                    second: second.clone(),
                }
            }
            _ => CompositeError::DuplicateModule {
                module: pair[0].0.clone(),
            },
        });
    }
    Ok(modules
        .into_iter()
        .map(|(name, bytes)| ModuleSlot::new(&name, bytes))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_from_file_names() {
        assert_eq!(module_name_from_file("btrfs.ko").as_deref(), Some("btrfs"));
        assert_eq!(
            module_name_from_file("btrfs.ko.zst").as_deref(),
            Some("btrfs")
        );
        assert_eq!(
            module_name_from_file("nf_tables").as_deref(),
            Some("nf_tables")
        );
        // Raw files keep their name: /sys/kernel/btf entries are module names already.
        assert_eq!(module_name_from_file("a-b").as_deref(), Some("a-b"));
        assert_eq!(module_name_from_file(".ko"), None);
        assert_eq!(module_name_from_file(""), None);
        assert_eq!(
            module_name_from_file("btrfs.ko.gz").as_deref(),
            Some("btrfs.ko.gz")
        );
    }
}
