//! BTF files of any format: raw BTF, ELF (`.BTF`, `.BTF.base`), xz and zstd compressed, as a
//! loose file and as a module of a composite.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    core_reloc_fuzz::exercise_btf_file(data);
});
