//! The btrfs programs loaded by libbpf 1.7 into the guest kernel: the reference run.
//!
//! It proves the programs themselves (verifier on 6.1 and 6.12, kprobe attach, CO-RE against
//! the btrfs module BTF) independently of our loader, whose tests (`vm_loader.rs`) must then
//! read the same values through the same checks.
//!
//! Guest-only: ignored on the host, run by `cargo xtask vm`.

use integration::checks::{
    assert_probes_match, assert_record_matches, stat_and_observe, stat_targets,
};
use integration::libbpf_live::LiveObject;
use integration::programs::{self, BtrfsGetattrRecord};
use integration::{Guest, guest};

/// Loads a btrfs_getattr program with libbpf, stats each target file, and checks each record.
fn check_getattr_program(guest: &Guest, object: &str) {
    let mut live = LiveObject::load(&guest.object(object)).unwrap_or_else(|e| panic!("{e}"));
    live.update(
        programs::TARGET_TGID_MAP,
        0,
        &std::process::id().to_ne_bytes(),
    )
    .unwrap();
    live.attach_all().unwrap();
    for path in stat_targets(guest) {
        let observed = stat_and_observe(guest, &path);
        let bytes = live
            .lookup(programs::RECORD_MAP, 0, BtrfsGetattrRecord::SIZE)
            .unwrap();
        assert_record_matches(&path, &BtrfsGetattrRecord::from_bytes(&bytes), &observed);
    }
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn c_program_reads_btrfs_fields_through_libbpf() {
    check_getattr_program(&guest(), programs::C_BTRFS_GETATTR);
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn rust_program_reads_btrfs_fields_through_libbpf() {
    check_getattr_program(&guest(), programs::RUST_BTRFS_GETATTR);
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn probes_match_bpftool_through_libbpf() {
    let guest = guest();
    let mut live = LiveObject::load(&guest.object(programs::C_BTRFS_PROBES)).unwrap();
    live.attach_all().unwrap();
    std::fs::metadata(guest.btrfs_file("hello.txt")).unwrap();
    assert_probes_match(&guest, |index| {
        let bytes = live.lookup(programs::PROBES_MAP, index, 8).unwrap();
        u64::from_ne_bytes(bytes.try_into().unwrap())
    });
}

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn missing_type_is_rejected_by_libbpf() {
    let guest = guest();
    let error = LiveObject::load(&guest.object(programs::C_MISSING_TYPE))
        .err()
        .expect("a read of a type no kernel has must not load");
    println!("libbpf: {error}");
}
