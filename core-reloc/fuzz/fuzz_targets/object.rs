//! Whole eBPF ELF objects: sections, `.BTF`, `.BTF.ext`, the CO-RE engine and patching.
#![no_main]

use std::sync::{Arc, LazyLock};

use core_reloc::btf::Btf;
use libfuzzer_sys::fuzz_target;

static TARGET: LazyLock<Arc<Btf<'static>>> = LazyLock::new(core_reloc_fuzz::small_base);

fuzz_target!(|data: &[u8]| {
    core_reloc_fuzz::exercise_object(data, &TARGET);
});
