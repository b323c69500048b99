//! Checks of the VM harness itself, before any eBPF is loaded: the guest has what the loader
//! tests rely on (modules and their BTF, the mounted btrfs image, the eBPF objects, and a way to
//! learn subvolume ids from user space).
//!
//! Guest-only: ignored on the host, run by `cargo xtask vm`.

use std::fs;
use std::os::unix::fs::MetadataExt;

use integration::btrfs;
use integration::expectations::fnv1a64;
use integration::{guest, programs};

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn btrfs_module_and_its_btf_are_loaded() {
    let guest = guest();
    let expectations = &guest.expectations;
    let btf = fs::read("/sys/kernel/btf/btrfs").expect("/sys/kernel/btf/btrfs");
    assert_eq!(btf.len() as u64, expectations.u64("btf.blob.btrfs.size"));
    assert_eq!(
        fnv1a64(&btf),
        expectations.u64("btf.blob.btrfs.fnv1a64"),
        "the guest's btrfs BTF differs from the blob the host extracted"
    );
    let kallsyms = fs::read_to_string("/proc/kallsyms").expect("/proc/kallsyms");
    assert!(
        kallsyms
            .lines()
            .any(|line| line.ends_with(" btrfs_getattr\t[btrfs]")),
        "btrfs_getattr [btrfs] is not in /proc/kallsyms"
    );
    // Dependencies have split BTF too: the loader's laziness test needs several candidates.
    for module in expectations.list("modules.load_order") {
        if module == "crc32c_intel" && !std::path::Path::new("/sys/module/crc32c_intel").exists() {
            continue; // skipped by guest-init on a CPU without SSE4.2
        }
        assert!(
            std::path::Path::new("/sys/module").join(module).exists(),
            "module {module} is not loaded"
        );
    }
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    assert_eq!(release.trim(), expectations.get("kernel.release"));
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn btrfs_image_is_mounted_with_the_known_files() {
    let guest = guest();
    let expectations = &guest.expectations;
    let (fs_type, block_size) = btrfs::statfs(&guest.btrfs_mount).expect("statfs");
    assert_eq!(fs_type, btrfs::BTRFS_SUPER_MAGIC, "not btrfs");
    assert_eq!(block_size as u64, expectations.u64("fs.sectorsize"));
    // The kernel's own view of the mkfs parameters, from sysfs.
    for (attribute, key) in [("sectorsize", "fs.sectorsize"), ("nodesize", "fs.nodesize")] {
        let value = btrfs::sysfs_attribute(attribute).expect(attribute);
        assert_eq!(
            value.parse::<u64>().unwrap(),
            expectations.u64(key),
            "{attribute}"
        );
    }
    let root = fs::metadata(&guest.btrfs_mount).expect("mount point");
    assert_eq!(root.ino(), btrfs::SUBVOLUME_ROOT_INO);
    let files = expectations.list("fs.files");
    assert!(!files.is_empty());
    for file in files {
        let path = guest.btrfs_file(file);
        let content = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let metadata = fs::metadata(&path).unwrap();
        assert_eq!(
            metadata.len(),
            expectations.u64(&format!("fs.file.{file}.size"))
        );
        assert_eq!(
            fnv1a64(&content),
            expectations.u64(&format!("fs.file.{file}.fnv1a64")),
            "{file}: content"
        );
    }
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn subvolume_ids_are_known_from_user_space() {
    let guest = guest();
    assert_eq!(
        btrfs::subvolume_id(&guest.btrfs_mount).unwrap(),
        btrfs::TOP_LEVEL_SUBVOLUME_ID
    );
    let subvolume = btrfs::ensure_subvolume(&guest.btrfs_mount, "subvolume").unwrap();
    let file = subvolume.join("in-subvolume.txt");
    fs::write(&file, b"inside a subvolume\n").unwrap();
    // The first subvolume created on a fresh filesystem gets the first free id.
    assert_eq!(btrfs::subvolume_id(&subvolume).unwrap(), 256);
    assert_eq!(btrfs::subvolume_id(&file).unwrap(), 256);
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn ebpf_objects_are_present() {
    let guest = guest();
    let listed = guest.expectations.list("ebpf.objects");
    for name in programs::ALL_OBJECTS {
        assert!(listed.contains(name), "{name} was not built by xtask");
        let path = guest.object(name);
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&bytes[..4], b"\x7fELF", "{name}: not ELF");
        let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
        assert_eq!(machine, 247, "{name}: not EM_BPF");
        let has_section = |section: &[u8]| bytes.windows(section.len()).any(|w| w == section);
        assert!(has_section(b".BTF.ext\0"), "{name}: no .BTF.ext");
    }
}
