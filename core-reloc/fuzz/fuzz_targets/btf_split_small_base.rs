//! Split BTF on a small builder-made base: ids and string offsets continue after the base's.
#![no_main]

use std::sync::{Arc, LazyLock};

use core_reloc::btf::Btf;
use libfuzzer_sys::fuzz_target;

static BASE: LazyLock<Arc<Btf<'static>>> = LazyLock::new(core_reloc_fuzz::small_base);

fuzz_target!(|data: &[u8]| {
    if let Ok(split) = Btf::parse_split(data, Arc::clone(&BASE)) {
        core_reloc_fuzz::exercise_btf(&split);
        // Nested split: the fuzzed BTF as the base of an empty split.
        let split = Arc::new(split);
        let empty = core_reloc::btf::BtfBuilder::new_split(&split).build();
        let nested = Btf::parse_split(empty, split).expect("an empty split parses on any base");
        core_reloc_fuzz::exercise_btf(&nested);
    }
});
