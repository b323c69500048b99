//! Distilled base BTF: the input is split BTF, distilled on the small base, and relocated from
//! a small distilled base onto the small base. Neither may panic; what distillation writes must
//! parse, and must relocate back onto the base it was distilled from or fail with a typed error.
#![no_main]

use std::sync::{Arc, LazyLock};

use core_reloc::btf::Btf;
use core_reloc::split_base::{distill_base, relocate_split};
use libfuzzer_sys::fuzz_target;

static BASE: LazyLock<Arc<Btf<'static>>> = LazyLock::new(core_reloc_fuzz::small_base);
static DISTILLED: LazyLock<Arc<Btf<'static>>> =
    LazyLock::new(core_reloc_fuzz::small_distilled_base);

fuzz_target!(|data: &[u8]| {
    if let Ok(split) = Btf::parse_split(data, Arc::clone(&BASE))
        && let Ok(distilled) = distill_base(&split)
    {
        let base = Arc::new(Btf::parse(distilled.base).expect("a distilled base parses"));
        let split = Btf::parse_split(distilled.split, base).expect("a distilled split parses");
        core_reloc_fuzz::exercise_btf(&split);
        if let Ok(relocated) = relocate_split(&split, &BASE) {
            let relocated = Btf::parse_split(relocated, Arc::clone(&BASE))
                .expect("a relocated split parses on its new base");
            core_reloc_fuzz::exercise_btf(&relocated);
        }
    }
    if let Ok(split) = Btf::parse_split(data, Arc::clone(&DISTILLED))
        && let Ok(relocated) = relocate_split(&split, &BASE)
    {
        // Ids and string offsets may dangle if the input's did; parsing checks neither.
        if let Ok(relocated) = Btf::parse_split(relocated, Arc::clone(&BASE)) {
            core_reloc_fuzz::exercise_btf(&relocated);
        }
    }
});
