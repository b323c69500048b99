//! Base BTF (vmlinux-like, or an object's `.BTF`): parse, then walk everything.
#![no_main]

use core_reloc::btf::Btf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(btf) = Btf::parse(data) {
        core_reloc_fuzz::exercise_btf(&btf);
    }
});
