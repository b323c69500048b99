//! Split (module) BTF on the real Debian 6.12 vmlinux BTF, parsed once.
//! `CORE_RELOC_FUZZ_BASE` overrides the base's path.
#![no_main]

use std::sync::{Arc, LazyLock};

use core_reloc::btf::Btf;
use libfuzzer_sys::fuzz_target;

static BASE: LazyLock<Arc<Btf<'static>>> = LazyLock::new(|| {
    let base = core_reloc_fuzz::vmlinux_base();
    // Build the base's name index now, not inside the first fuzzed input.
    let _ = base.find_by_name("task_struct");
    base
});

fuzz_target!(|data: &[u8]| {
    if let Ok(split) = Btf::parse_split(data, Arc::clone(&BASE)) {
        core_reloc_fuzz::exercise_btf(&split);
    }
});
