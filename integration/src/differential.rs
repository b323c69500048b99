//! Comparing our relocated instructions with libbpf's at every CO-RE site.
//!
//! Used on the host (the corpus against separately compiled layouts and Debian vmlinux BTF)
//! and in the QEMU guests (the btrfs programs against the live kernel and its module BTF).

use core_reloc::ext::CoreReloKind;
use core_reloc::object::BpfObject;

use crate::libbpf_reference::LibbpfRelocation;

const LD_IMM64: u8 = 0x18;
const CALL: u8 = 0x85;

/// One CO-RE site of our relocation.
#[derive(Debug, Clone)]
pub struct Site {
    /// Program section.
    pub section: String,
    /// Instruction index in the section.
    pub insn_index: usize,
    /// The relocation kind.
    pub kind: CoreReloKind,
    /// The access in words (or the error).
    pub access: String,
    /// The value written, `None` when poisoned or failed.
    pub new_val: Option<u64>,
}

/// What a comparison found.
#[derive(Debug, Default)]
pub struct Tally {
    /// Sites compared (one per copy libbpf made of the instruction).
    pub compared_sites: usize,
    /// Cases both refused.
    pub agreed_failures: Vec<String>,
    /// Documented deliberate differences.
    pub deliberate: Vec<String>,
    /// Everything else that differs.
    pub mismatches: Vec<String>,
}

impl Tally {
    /// Prints every finding to stderr and a one-line summary.
    pub fn print(&self, cases: usize) {
        for mismatch in &self.mismatches {
            eprintln!("MISMATCH {mismatch}");
        }
        for failure in &self.agreed_failures {
            eprintln!("both failed: {failure}");
        }
        for deliberate in &self.deliberate {
            eprintln!("deliberate difference: {deliberate}");
        }
        eprintln!(
            "{cases} cases, {} CO-RE sites compared, {} cases failed in both, {} deliberate differences, {} mismatches",
            self.compared_sites,
            self.agreed_failures.len(),
            self.deliberate.len(),
            self.mismatches.len()
        );
    }
}

/// Compares one case: our relocated object (or our failure) and libbpf's result (or failure).
pub fn compare(
    case: &str,
    ours: Result<(&[u8], &[Site]), String>,
    theirs: Result<LibbpfRelocation, String>,
    tally: &mut Tally,
) {
    let ((bytes, sites), theirs) = match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => (ours, theirs),
        (Err(ours), Err(_)) => {
            tally.agreed_failures.push(format!("{case}: {ours}"));
            return;
        }
        (Ok(_), Err(error)) => {
            tally
                .mismatches
                .push(format!("{case}: libbpf failed, we did not: {error}"));
            return;
        }
        (Err(error), Ok(_)) => {
            tally
                .mismatches
                .push(format!("{case}: we failed, libbpf did not: {error}"));
            return;
        }
    };
    let object = match BpfObject::parse(bytes) {
        Ok(object) => object,
        Err(error) => {
            tally
                .mismatches
                .push(format!("{case}: our output does not parse: {error}"));
            return;
        }
    };
    for site in sites {
        let Some(section) = object
            .program_sections()
            .iter()
            .find(|s| s.name == site.section)
        else {
            tally
                .mismatches
                .push(format!("{case}: no section {}", site.section));
            continue;
        };
        let start = site.insn_index * 8;
        let insns = section.insns;
        let poisoned_pair = site.new_val.is_none()
            && insns.get(start) == Some(&CALL)
            && insns.get(start + 8) == Some(&CALL);
        let width = if insns.get(start) == Some(&LD_IMM64) || poisoned_pair {
            16
        } else {
            8
        };
        let Some(ours) = insns.get(start..start + width) else {
            tally.mismatches.push(format!(
                "{case}: {} insn #{} is out of range",
                site.section, site.insn_index
            ));
            continue;
        };
        for copy in theirs.sites(&site.section, site.insn_index) {
            let mut libbpf = Vec::new();
            for i in 0..width / 8 {
                libbpf.extend(copy.program.insn(copy.insn_index + i).unwrap_or_default());
            }
            tally.compared_sites += 1;
            if ours == libbpf.as_slice() {
                continue;
            }
            let line = format!(
                "{case}: {} insn #{} {} `{}`: ours {:02x?}, libbpf {:02x?} (program {})",
                site.section,
                site.insn_index,
                site.kind,
                site.access,
                ours,
                libbpf,
                copy.program.name()
            );
            if is_enum_widening_difference(site, ours, &libbpf) {
                tally.deliberate.push(line);
            } else {
                tally.mismatches.push(line);
            }
        }
    }
}

/// A documented, deliberate difference: libbpf sign-extends a 32-bit enumerator of an
/// unsigned enum; we widen it by the enum's signedness.
fn is_enum_widening_difference(site: &Site, ours: &[u8], libbpf: &[u8]) -> bool {
    if site.kind != CoreReloKind::EnumvalValue || ours.len() != 16 || libbpf.len() != 16 {
        return false;
    }
    let value = |insns: &[u8]| {
        u64::from(u32::from_le_bytes(insns[4..8].try_into().unwrap()))
            | (u64::from(u32::from_le_bytes(insns[12..16].try_into().unwrap())) << 32)
    };
    let (our_value, their_value) = (value(ours), value(libbpf));
    our_value <= u64::from(u32::MAX)
        && our_value & 0x8000_0000 != 0
        && their_value == (our_value as u32 as i32 as i64 as u64)
        && ours[..4] == libbpf[..4]
        && ours[8..12] == libbpf[8..12]
}
