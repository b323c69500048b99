//! In the guest: libbpf 1.7 relocates the same objects against the live kernel (vmlinux and,
//! since vmlinux lacks the btrfs types, every module's BTF); our loader relocates them with
//! its default module selection. The instructions agree at every CO-RE site.
//!
//! Guest-only: ignored on the host, run by `cargo xtask vm`.

use core_reloc_loader::Loader;
use integration::differential::{Site, Tally, compare};
use integration::libbpf_reference::relocate_with_libbpf_live;
use integration::{guest, programs};

#[test]
#[ignore = "needs the QEMU guest: cargo xtask vm"]
fn btrfs_programs_relocate_like_libbpf_against_the_live_kernel() {
    let guest = guest();
    let mut tally = Tally::default();
    for object in programs::ALL_OBJECTS {
        let path = guest.object(object);
        let relocated = Loader::new().relocate(&std::fs::read(&path).unwrap());
        let sites: Vec<Site> = relocated
            .as_ref()
            .map(|relocated| {
                relocated
                    .report
                    .fixups
                    .iter()
                    .map(|fixup| Site {
                        section: fixup.section.clone(),
                        insn_index: fixup.insn,
                        kind: fixup.kind,
                        access: fixup.access.to_string(),
                        new_val: fixup.new,
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Ok(relocated) = &relocated {
            println!(
                "{object}: modules parsed {:?}",
                relocated.report.parsed_modules()
            );
        }
        let ours = relocated
            .as_ref()
            .map(|relocated| (relocated.bytes.as_slice(), sites.as_slice()))
            .map_err(|error| error.to_string());
        let theirs = relocate_with_libbpf_live(&path).map_err(|error| error.to_string());
        compare(
            &format!("{object} on {}", guest.series()),
            ours,
            theirs,
            &mut tally,
        );
    }
    tally.print(programs::ALL_OBJECTS.len());
    assert!(tally.mismatches.is_empty(), "{:#?}", tally.mismatches);
    assert!(
        tally.compared_sites >= 30,
        "only {} sites compared",
        tally.compared_sites
    );
}
