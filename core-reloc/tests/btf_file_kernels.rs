//! BTF from the files users have, on real Debian 6.12 files from the kernel cache: the vmlinux
//! ELF, `btrfs.ko` and its `.xz`/`.zst` compressions (made here with the `xz` and `zstd`
//! tools, as the kernel's `modules_install` does), in `BtfFile`, `Btf::from_file` and every
//! `CompositeBtf` source.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use core_reloc::Btf;
use core_reloc::btf::{Kind, LoadMethod};
use core_reloc::btf_file::{BtfFile, BtfFileError, Compression, Container};
use core_reloc::composite::{CompositeBtf, CompositeError, CompositeSource, ModuleError};
use kernel_fixtures::ScratchDir;

const SERIES: &str = "6.12";
const BTRFS_INODE_SIZE: u32 = 1016;

/// Compresses `input` into `output` with the system tool (`xz` with the kernel's own module
/// options, or `zstd`).
fn compress(tool: &str, input: &Path, output: &Path) {
    let args: &[&str] = match tool {
        "xz" => &["--check=crc32", "--lzma2=dict=1MiB", "-c"],
        _ => &["-q", "-c", "-T1"],
    };
    let out = Command::new(tool)
        .args(args)
        .arg(input)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (cargo xtask setup installs it): {e}"));
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(output, out.stdout).unwrap();
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn vmlinux_elf_gives_the_raw_btf_mapped_on_its_own() {
    let raw = read(&kernel_fixtures::kernel_btf(SERIES, "vmlinux"));
    let elf = kernel_fixtures::kernel_vmlinux_elf(SERIES);
    let file = BtfFile::open(&elf).unwrap();
    assert_eq!(file.format.container, Container::Elf);
    assert_eq!(file.format.compression, None);
    assert!(file.btf_base.is_none());
    assert_eq!(
        &file.btf[..],
        &raw[..],
        "the .BTF section is the raw blob, byte for byte"
    );
    // Only the section is mapped (the file is 57 MB, the section 5 MB).
    assert_eq!(file.load.method, LoadMethod::Mapped);
    assert_eq!(file.load.bytes, raw.len());
    assert_eq!(file.path.as_deref(), Some(elf.as_path()));

    let from_elf = Btf::from_file(&elf).unwrap();
    let from_raw = Btf::from_file(kernel_fixtures::kernel_btf(SERIES, "vmlinux")).unwrap();
    assert_eq!(from_elf.type_count(), from_raw.type_count());
    assert_eq!(
        from_elf.find_by_name_kind("task_struct", Kind::Struct),
        from_raw.find_by_name_kind("task_struct", Kind::Struct)
    );
}

#[test]
fn btrfs_ko_plain_xz_and_zstd_give_the_same_split_btf() {
    let scratch = ScratchDir::new("btf-file-ko");
    let ko = kernel_fixtures::kernel_module(SERIES, "btrfs");
    let (xz, zst) = (scratch.path("btrfs.ko.xz"), scratch.path("btrfs.ko.zst"));
    compress("xz", &ko, &xz);
    compress("zstd", &ko, &zst);
    let raw = read(&kernel_fixtures::kernel_btf(SERIES, "btrfs"));
    let vmlinux = Arc::new(Btf::from_file(kernel_fixtures::kernel_btf(SERIES, "vmlinux")).unwrap());

    for (path, compression) in [
        (&ko, None),
        (&xz, Some(Compression::Xz)),
        (&zst, Some(Compression::Zstd)),
    ] {
        let file = BtfFile::open(path).unwrap();
        assert_eq!(file.format.container, Container::Elf, "{}", path.display());
        assert_eq!(file.format.compression, compression);
        assert_eq!(
            &file.btf[..],
            &raw[..],
            "{}: .BTF equals /sys/kernel/btf/btrfs",
            path.display()
        );
        assert!(
            file.btf_base.is_none(),
            "Debian's pahole 1.24 writes no .BTF.base"
        );
        let expected = if compression.is_some() {
            LoadMethod::Decompressed
        } else {
            LoadMethod::Mapped
        };
        assert_eq!(file.load.method, expected);
        if compression.is_some() {
            assert_eq!(
                file.load.bytes as u64,
                std::fs::metadata(path).unwrap().len()
            );
        }
        let btrfs = Btf::from_file_split(path, vmlinux.clone()).unwrap();
        let inode = btrfs
            .find_by_name_kind("btrfs_inode", Kind::Struct)
            .unwrap();
        assert_eq!(btrfs.resolved_size(inode).unwrap(), BTRFS_INODE_SIZE);
    }

    // A limit below the module's size is a typed error naming the file, not an allocation.
    let error = BtfFile::open_with_limit(&xz, 1 << 20).unwrap_err();
    assert!(
        matches!(
            error,
            BtfFileError::TooLarge {
                compression: Compression::Xz,
                limit: 1048576,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("btrfs.ko.xz"), "{error}");
    // A truncated download is corrupt, not a crash.
    let bytes = read(&zst);
    let cut = scratch.path("cut.ko.zst");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        BtfFile::open(&cut),
        Err(BtfFileError::Corrupt {
            compression: Compression::Zstd,
            ..
        })
    ));
}

#[test]
fn an_elf_without_btf_is_an_error_naming_the_file() {
    let scratch = ScratchDir::new("btf-file-nobtf");
    let stripped = scratch.path("stripped.ko");
    let status = Command::new("llvm-objcopy-22")
        .args(["--remove-section", ".BTF"])
        .arg(kernel_fixtures::kernel_module(SERIES, "xor"))
        .arg(&stripped)
        .status()
        .expect("llvm-objcopy-22 (cargo xtask setup installs llvm-22)");
    assert!(status.success());
    let error = BtfFile::open(&stripped).unwrap_err();
    assert!(
        matches!(error, BtfFileError::NoBtfSection { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("{}: ELF file has no .BTF section", stripped.display())
    );
    // The same file as a module of a composite fails that module alone, typed.
    let kernel = CompositeBtf::from_files(
        kernel_fixtures::kernel_btf(SERIES, "vmlinux"),
        [("xor", &stripped)],
    )
    .unwrap();
    let error = kernel.module("xor").unwrap_err();
    assert!(
        matches!(&error, ModuleError::File { source, .. } if matches!(**source, BtfFileError::NoBtfSection { .. })),
        "{error:?}"
    );
    // ... and as vmlinux it fails the composite, naming the file.
    let error = CompositeBtf::from_files(&stripped, Vec::<(String, PathBuf)>::new()).unwrap_err();
    assert!(
        matches!(error, CompositeError::VmlinuxFile { .. }),
        "{error:?}"
    );
}

/// A directory like `/sys/kernel/btf` but holding what a distribution ships: the vmlinux ELF
/// and compressed `.ko` files (symlinked or compressed from the cache), next to raw BTF.
#[test]
fn a_btf_directory_of_elf_and_compressed_modules() {
    let scratch = ScratchDir::new("btf-file-dir");
    let dir = scratch.path("btf");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(
        kernel_fixtures::kernel_vmlinux_elf(SERIES),
        dir.join("vmlinux"),
    )
    .unwrap();
    compress(
        "xz",
        &kernel_fixtures::kernel_module(SERIES, "btrfs"),
        &dir.join("btrfs.ko.xz"),
    );
    compress(
        "zstd",
        &kernel_fixtures::kernel_module(SERIES, "xor"),
        &dir.join("xor.ko.zst"),
    );
    std::os::unix::fs::symlink(
        kernel_fixtures::kernel_module(SERIES, "crc32c-intel"),
        dir.join("crc32c-intel.ko"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        kernel_fixtures::kernel_btf(SERIES, "loop"),
        dir.join("loop"),
    )
    .unwrap();

    let kernel = CompositeBtf::from_dir(&dir).unwrap();
    assert_eq!(kernel.vmlinux().load_info().method, LoadMethod::Mapped);
    assert_eq!(
        kernel.module_names().collect::<Vec<_>>(),
        ["btrfs", "crc32c_intel", "loop", "xor"]
    );
    let probe = kernel.probe("btrfs_inode");
    assert!(probe.errors.is_empty(), "{:?}", probe.errors);
    assert_eq!(probe.candidates, [Arc::from("btrfs")]);
    assert_eq!(kernel.stats().modules_parsed, 0, "probing parses nothing");
    // Remembered: the compressed modules are not inflated again.
    assert_eq!(kernel.probe("btrfs_inode").bytes_read, 0);

    let btrfs = kernel.module("btrfs").unwrap();
    let raw = Btf::from_file_split(
        kernel_fixtures::kernel_btf(SERIES, "btrfs"),
        kernel.vmlinux_shared().clone(),
    )
    .unwrap();
    assert_eq!(btrfs.own_type_count(), raw.own_type_count());
    assert_eq!(btrfs.load_info().method, LoadMethod::Decompressed);
    for name in kernel
        .module_names()
        .map(str::to_string)
        .collect::<Vec<_>>()
    {
        kernel
            .module(&name)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    let stats = kernel.stats();
    assert_eq!((stats.modules_parsed, stats.modules_failed), (4, 0));

    // A module with two files is refused, naming both.
    std::fs::write(
        dir.join("xor"),
        read(&kernel_fixtures::kernel_btf(SERIES, "xor")),
    )
    .unwrap();
    let error = CompositeBtf::from_dir(&dir).unwrap_err();
    assert!(
        matches!(error, CompositeError::DuplicateModuleFile { ref module, .. } if module == "xor"),
        "{error:?}"
    );
}

/// A `/lib/modules/<release>` tree: modules anywhere below, other files ignored.
#[test]
fn a_module_tree() {
    let scratch = ScratchDir::new("btf-file-tree");
    let tree = scratch.path("6.12.0-test-amd64");
    let btrfs_dir = tree.join("kernel/fs/btrfs");
    let lib_dir = tree.join("kernel/lib");
    std::fs::create_dir_all(&btrfs_dir).unwrap();
    std::fs::create_dir_all(&lib_dir).unwrap();
    compress(
        "xz",
        &kernel_fixtures::kernel_module(SERIES, "btrfs"),
        &btrfs_dir.join("btrfs.ko.xz"),
    );
    compress(
        "xz",
        &kernel_fixtures::kernel_module(SERIES, "raid6_pq"),
        &lib_dir.join("raid6_pq.ko.xz"),
    );
    std::fs::write(
        tree.join("modules.dep"),
        "kernel/fs/btrfs/btrfs.ko.xz: kernel/lib/raid6_pq.ko.xz\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/nonexistent/build", tree.join("build")).unwrap();

    let vmlinux = kernel_fixtures::kernel_vmlinux_elf(SERIES);
    let kernel = CompositeBtf::from_module_tree(&vmlinux, &tree).unwrap();
    assert_eq!(
        kernel.module_names().collect::<Vec<_>>(),
        ["btrfs", "raid6_pq"]
    );
    assert_eq!(
        kernel.source(),
        &CompositeSource::ModuleTree {
            vmlinux,
            tree: tree.clone()
        }
    );
    let (origin, id) = {
        kernel.module("btrfs").unwrap();
        kernel.find_type("btrfs_inode", Kind::Struct).unwrap()
    };
    assert_eq!(origin, core_reloc::BtfOrigin::module("btrfs"));
    assert_eq!(
        kernel.module("btrfs").unwrap().resolved_size(id).unwrap(),
        BTRFS_INODE_SIZE
    );
}
