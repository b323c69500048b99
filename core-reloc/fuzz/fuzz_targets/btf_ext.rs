//! `.BTF.ext`: the first input byte picks the byte order, the rest is the section.
#![no_main]

use core_reloc::ext::BtfExt;
use libfuzzer_sys::fuzz_target;
use object::Endianness;

fuzz_target!(|data: &[u8]| {
    let Some((&order, section)) = data.split_first() else {
        return;
    };
    let endian = if order & 1 == 0 {
        Endianness::Little
    } else {
        Endianness::Big
    };
    if let Ok(ext) = BtfExt::parse(section, endian) {
        core_reloc_fuzz::exercise_btf_ext(&ext);
    }
});
