//! Differential against libbpf 1.7: distilling real Debian module BTF (`btf__distill_base`)
//! and relocating the distilled split onto another ABI's vmlinux (`btf__relocate`) give the
//! same bytes as `core_reloc::split_base`, and both refuse the same inputs.
//!
//! The modules are those of the older 6.12 ABI that `cargo xtask kmod` caches
//! (`<kernels>/6.12-kmod/btf`), relocated onto the guests' 6.12 vmlinux, onto their own
//! vmlinux, and onto 6.1's; plus the test module of `cargo xtask kmod`.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use core_reloc::btf::{Btf, Endianness};
use core_reloc::split_base::{DistilledBtf, distill_base, relocate_split};
use integration::fixtures::{kernel_btf_dir, workspace};
use integration::libbpf_split_base as libbpf;

/// The kmod kernel's cache directory name (xtask's `kmod::KERNEL_DIR`).
const KMOD_KERNEL: &str = "6.12-kmod";
/// Modules sampled from the older ABI beyond btrfs (evenly over the sorted names).
const SAMPLE: usize = 40;

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The modules compared: btrfs, then every n-th module name that both 6.12 ABIs have.
fn modules(older: &Path, newer: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(older)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name != "vmlinux" && name != "btrfs" && newer.join(name).exists())
        .collect();
    names.sort();
    let step = (names.len() / SAMPLE).max(1);
    let mut chosen = vec!["btrfs".to_string()];
    chosen.extend(names.into_iter().step_by(step).take(SAMPLE));
    chosen
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Same,
    BothRefused,
}

/// Distills `module` (split on `base`) both ways and relocates the result onto each target.
fn compare(name: &str, module: &[u8], base: &[u8], targets: &[(&str, &[u8])]) -> Vec<Outcome> {
    let base_btf = Arc::new(Btf::parse(base).unwrap());
    let split = Btf::parse_split(module, base_btf).unwrap();
    let ours = distill_base(&split);
    let theirs = libbpf::distill(module, base);
    let (ours, theirs) = match (ours, theirs) {
        (Ok(ours), Ok((base, split))) => (ours, DistilledBtf { base, split }),
        (Err(_), Err(_)) => return vec![Outcome::BothRefused],
        (ours, theirs) => panic!("{name}: distill: ours {ours:?}, libbpf {:?}", theirs.err()),
    };
    assert!(ours.base == theirs.base, "{name}: distilled bases differ");
    assert!(
        ours.split == theirs.split,
        "{name}: distilled splits differ"
    );
    let mut outcomes = vec![Outcome::Same];
    let distilled = Arc::new(Btf::parse(&ours.base[..]).unwrap());
    let dist_split = Btf::parse_split(&ours.split[..], distilled).unwrap();
    for (target_name, target) in targets {
        let target_btf = Btf::parse(*target).unwrap();
        let ours = relocate_split(&dist_split, &target_btf);
        let theirs = libbpf::relocate(&theirs.split, &theirs.base, target);
        outcomes.push(match (ours, theirs) {
            (Ok(ours), Ok(theirs)) => {
                assert!(
                    ours == theirs,
                    "{name} onto {target_name}: relocations differ"
                );
                Outcome::Same
            }
            (Err(ours), Err(errno)) => {
                eprintln!("{name} onto {target_name}: both refuse (ours: {ours}; libbpf {errno})");
                Outcome::BothRefused
            }
            (ours, theirs) => panic!(
                "{name} onto {target_name}: ours {:?}, libbpf {:?}",
                ours.map(|b| b.len()),
                theirs.map(|b| b.len())
            ),
        });
    }
    outcomes
}

#[test]
fn real_modules_distill_and_relocate_like_libbpf() {
    let older = kernel_btf_dir(KMOD_KERNEL);
    let newer = kernel_btf_dir("6.12");
    let v61 = read(&kernel_btf_dir("6.1").join("vmlinux"));
    let old_vmlinux = read(&older.join("vmlinux"));
    let new_vmlinux = read(&newer.join("vmlinux"));
    let targets: [(&str, &[u8]); 3] = [
        ("6.12 (guest)", &new_vmlinux),
        ("6.12 (own)", &old_vmlinux),
        ("6.1", &v61),
    ];
    let modules = modules(&older, &newer);
    assert!(modules.len() > 20, "only {} modules", modules.len());
    let mut onto_newer = 0;
    let mut onto_older = 0;
    for name in &modules {
        let module = read(&older.join(name));
        let outcomes = compare(name, &module, &old_vmlinux, &targets);
        assert_eq!(
            outcomes[0],
            Outcome::Same,
            "{name}: distill refused by both"
        );
        // Onto the vmlinux it was distilled from, relocation must succeed.
        assert_eq!(outcomes[2], Outcome::Same, "{name}: own vmlinux refused");
        if outcomes[1] == Outcome::Same {
            onto_newer += 1;
        }
        // And the other way: the guests' module distilled, relocated onto the older ABI.
        let newer_module = read(&newer.join(name));
        let back = compare(
            name,
            &newer_module,
            &new_vmlinux,
            &[("6.12 (older)", &old_vmlinux)],
        );
        assert_eq!(
            back[0],
            Outcome::Same,
            "{name} (newer ABI): distill refused by both"
        );
        if back[1] == Outcome::Same {
            onto_older += 1;
        }
        println!(
            "{name}: distill same, onto {:?}, newer onto older {:?}",
            &outcomes[1..],
            back[1]
        );
    }
    println!(
        "{} modules of {KMOD_KERNEL}: {onto_newer} relocated onto the 6.12 guest vmlinux identically; \
         {onto_older} of the guests' onto {KMOD_KERNEL}'s",
        modules.len()
    );
    assert!(
        onto_newer > 20,
        "only {onto_newer} modules relocated onto the newer ABI"
    );
    assert!(
        onto_older > 20,
        "only {onto_older} modules relocated onto the older ABI"
    );
}

#[test]
fn test_module_distills_and_relocates_like_libbpf() {
    let kmod = workspace().join("target/kmod/build-v1/core_reloc_testmod.ko");
    assert!(
        kmod.exists(),
        "{} is not built: run `cargo xtask kmod`",
        kmod.display()
    );
    let older = kernel_btf_dir(KMOD_KERNEL);
    let elf = read(&kmod);
    let btf = section(&elf, ".BTF");
    let old_vmlinux = read(&older.join("vmlinux"));
    let new_vmlinux = read(&kernel_btf_dir("6.12").join("vmlinux"));
    let targets: [(&str, &[u8]); 2] =
        [("6.12 (guest)", &new_vmlinux), ("6.12 (own)", &old_vmlinux)];
    let outcomes = compare("core_reloc_testmod", &btf, &old_vmlinux, &targets);
    assert_eq!(outcomes, [Outcome::Same, Outcome::Same, Outcome::Same]);
}

fn section(elf: &[u8], name: &str) -> Vec<u8> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(elf).unwrap();
    file.section_by_name(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .data()
        .unwrap()
        .to_vec()
}

/// A crafted case: a vmlinux to distill from, a module on it, and a vmlinux to relocate onto.
struct Case {
    name: &'static str,
    distill_ok: bool,
    relocate_ok: bool,
}

/// Builds `(old vmlinux, module on it, new vmlinux)` for one crafted case, in `endian` byte
/// order (libbpf reads and writes the other byte order too).
fn crafted(case: &str, endian: Endianness) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use core_reloc::btf::{BtfBuilder, IntEncoding, Linkage, MemberSpec};
    let mut old = BtfBuilder::new().with_endian(endian);
    let int = old.add_int("int", 4, IntEncoding::SIGNED);
    let mut new = BtfBuilder::new().with_endian(endian);
    new.add_int("long", 8, IntEncoding::SIGNED);
    let new_int = new.add_int("int", 4, IntEncoding::SIGNED);
    // (what the module refers to in the old vmlinux, whether it embeds it)
    let (target, embed) = match case {
        "ambiguous" => {
            new.add_struct("dup", 8, &[MemberSpec::new("a", new_int, 0)]);
            new.add_struct("dup", 8, &[MemberSpec::new("b", new_int, 0)]);
            (
                old.add_struct("dup", 8, &[MemberSpec::new("a", int, 0)]),
                true,
            )
        }
        "embedded size differs" => {
            new.add_struct("s", 16, &[MemberSpec::new("a", new_int, 0)]);
            (
                old.add_struct("s", 8, &[MemberSpec::new("a", int, 0)]),
                true,
            )
        }
        "pointed-to size differs" => {
            new.add_struct("s", 16, &[MemberSpec::new("a", new_int, 0)]);
            (
                old.add_struct("s", 8, &[MemberSpec::new("a", int, 0)]),
                false,
            )
        }
        "two sizes, one matches" => {
            new.add_struct("s", 16, &[MemberSpec::new("a", new_int, 0)]);
            new.add_struct("s", 8, &[MemberSpec::new("a", new_int, 0)]);
            (
                old.add_struct("s", 8, &[MemberSpec::new("a", int, 0)]),
                true,
            )
        }
        "enum onto enum64" => {
            new.add_enum64("e", 8, false, &[("E", 1)]);
            (old.add_enum("e", 8, false, &[("E", 1)]), true)
        }
        "enum of size 3" => (old.add_enum("e", 3, false, &[("E", 1)]), true),
        "char signedness" => {
            new.add_int("char", 1, IntEncoding::NONE);
            (old.add_int("char", 1, IntEncoding::SIGNED), true)
        }
        "fwd onto struct" => {
            new.add_struct("opaque", 24, &[]);
            (old.add_fwd("opaque", false), false)
        }
        "missing" => (old.add_struct("gone", 8, &[]), false),
        "refers to a var" => (old.add_var("v", int, Linkage::Global), false),
        "anonymous struct moves" => {
            let anon = old.add_struct("", 4, &[MemberSpec::new("x", int, 0)]);
            (old.add_typedef("anon_t", anon), true)
        }
        other => panic!("no case {other}"),
    };
    let old_btf = Btf::parse(old.build()).unwrap();
    let mut module = BtfBuilder::new_split(&old_btf);
    let member = if embed {
        target
    } else {
        module.add_ptr(target)
    };
    module.add_struct(
        "module_struct",
        32,
        &[
            MemberSpec::new("m", member, 0),
            MemberSpec::new("i", int, 128),
        ],
    );
    (old.build(), module.build(), new.build())
}

#[test]
fn crafted_inputs_are_accepted_and_refused_like_libbpf() {
    let cases = [
        Case {
            name: "ambiguous",
            distill_ok: true,
            relocate_ok: false,
        },
        Case {
            name: "embedded size differs",
            distill_ok: true,
            relocate_ok: false,
        },
        Case {
            name: "pointed-to size differs",
            distill_ok: true,
            relocate_ok: true,
        },
        Case {
            name: "two sizes, one matches",
            distill_ok: true,
            relocate_ok: true,
        },
        Case {
            name: "enum onto enum64",
            distill_ok: true,
            relocate_ok: true,
        },
        Case {
            name: "enum of size 3",
            distill_ok: false,
            relocate_ok: false,
        },
        Case {
            name: "char signedness",
            distill_ok: true,
            relocate_ok: false,
        },
        Case {
            name: "fwd onto struct",
            distill_ok: true,
            relocate_ok: true,
        },
        Case {
            name: "missing",
            distill_ok: true,
            relocate_ok: false,
        },
        Case {
            name: "refers to a var",
            distill_ok: false,
            relocate_ok: false,
        },
        Case {
            name: "anonymous struct moves",
            distill_ok: true,
            relocate_ok: true,
        },
    ];
    for (case, endian) in cases
        .iter()
        .flat_map(|case| [(case, Endianness::Little), (case, Endianness::Big)])
    {
        let (old, module, new) = crafted(case.name, endian);
        let outcomes = compare(case.name, &module, &old, &[("new", &new), ("old", &old)]);
        let expected_distill = if case.distill_ok {
            Outcome::Same
        } else {
            Outcome::BothRefused
        };
        assert_eq!(outcomes[0], expected_distill, "{}: distill", case.name);
        if case.distill_ok {
            let expected = if case.relocate_ok {
                Outcome::Same
            } else {
                Outcome::BothRefused
            };
            assert_eq!(outcomes[1], expected, "{}: relocate onto new", case.name);
            assert_eq!(
                outcomes[2],
                Outcome::Same,
                "{}: relocate onto old",
                case.name
            );
        }
    }
}
