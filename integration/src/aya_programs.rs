//! The btrfs programs through aya, for tests whose loader hands back an [`aya::Ebpf`] (ours).
//!
//! Together with [`crate::checks`] a loader test is: load, [`attach_kprobe`],
//! [`set_target_tgid`], stat each of `checks::stat_targets`, [`read_record`], compare.

use aya::Ebpf;
use aya::maps::{Array, MapData};
use aya::programs::KProbe;

use crate::programs::{self, BtrfsGetattrRecord};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Loads `program` (a kprobe) and attaches it to `btrfs_getattr`.
pub fn attach_kprobe(ebpf: &mut Ebpf, program: &str) -> Result<()> {
    let kprobe: &mut KProbe = ebpf
        .program_mut(program)
        .ok_or_else(|| format!("no program {program}"))?
        .try_into()?;
    kprobe.load()?;
    kprobe.attach(programs::KPROBE_TARGET, 0)?;
    Ok(())
}

/// Makes the btrfs_getattr program record only this process's stat calls.
pub fn set_target_tgid(ebpf: &mut Ebpf) -> Result<()> {
    let map = ebpf
        .map_mut(programs::TARGET_TGID_MAP)
        .ok_or("no map target_tgid")?;
    let mut target: Array<&mut MapData, u32> = Array::try_from(map)?;
    target.set(0, &std::process::id(), 0)?;
    Ok(())
}

/// The last record of the btrfs_getattr program.
pub fn read_record(ebpf: &Ebpf) -> Result<BtrfsGetattrRecord> {
    let map = ebpf
        .map(programs::RECORD_MAP)
        .ok_or("no map btrfs_getattr_record")?;
    let records: Array<&MapData, BtrfsGetattrRecord> = Array::try_from(map)?;
    Ok(records.get(&0, 0)?)
}

/// One value of the probes program's map (see [`programs::probe`]).
pub fn read_probe(ebpf: &Ebpf, index: u32) -> Result<u64> {
    let map = ebpf
        .map(programs::PROBES_MAP)
        .ok_or("no map btrfs_probes")?;
    let probes: Array<&MapData, u64> = Array::try_from(map)?;
    Ok(probes.get(&index, 0)?)
}
