//! The eBPF objects of `ebpf-tests/` and the data they share with user space.
//!
//! Mirrors `ebpf-tests/include/btrfs_record.h`; keep both in sync.

/// C: kprobe `btrfs_getattr_fields` on `btrfs_getattr`, fills [`BtrfsGetattrRecord`].
pub const C_BTRFS_GETATTR: &str = "btrfs_getattr.bpf.o";
/// C: kprobe `btrfs_probes_run` on `btrfs_getattr`, fills map [`PROBES_MAP`].
pub const C_BTRFS_PROBES: &str = "btrfs_probes.bpf.o";
/// C: kprobe `missing_type_read`, reads a type no kernel has; loading must fail.
pub const C_MISSING_TYPE: &str = "missing_type.bpf.o";
/// C: fentry `btrfs_fentry_inode` on btrfs_get_delayed_node, fexit `btrfs_fexit_getattr` on
/// `btrfs:btrfs_getattr` and tp_btf `btrfs_tp_sync_file`, direct CO-RE loads; maps
/// [`FENTRY_RECORDS_MAP`], [`FEXIT_RECORD_MAP`], [`SYNC_RECORD_MAP`], [`TARGET_TGID_MAP`].
pub const C_BTRFS_FENTRY: &str = "btrfs_fentry.bpf.o";
/// C: xdp `ct_lookup_absent` calling nf_conntrack's kfuncs; map [`CT_RESULT_MAP`].
pub const C_CT_LOOKUP: &str = "ct_lookup.bpf.o";
/// Rust (aya-ebpf + C shim): same program and maps as [`C_BTRFS_GETATTR`].
pub const RUST_BTRFS_GETATTR: &str = "btrfs_getattr_rs";
/// Rust (aya-ebpf + C shim of direct loads): same programs and maps as [`C_BTRFS_FENTRY`].
pub const RUST_BTRFS_FENTRY: &str = "btrfs_fentry_rs";

/// C: kprobe [`TESTMOD_OBSERVE_PROGRAM`] on core_reloc_testmod's [`TESTMOD_OBSERVE_TARGET`],
/// fills [`CrtSeen`] (not in [`ALL_OBJECTS`]: it needs the test module, 6.12 guests only).
pub const C_TESTMOD_OBSERVE: &str = "testmod_observe.bpf.o";
/// Program name in [`C_TESTMOD_OBSERVE`].
pub const TESTMOD_OBSERVE_PROGRAM: &str = "crt_observe";
/// The test module's function the program attaches to (a write to its /proc file calls it).
pub const TESTMOD_OBSERVE_TARGET: &str = "crt_testmod_observe";
/// Array map (1 entry, key 0, value [`CrtSeen`]).
pub const TESTMOD_SEEN_MAP: &str = "crt_seen";

/// C: fmod_ret [`TESTMOD_FMODRET_PROGRAM`] on [`TESTMOD_OBSERVE_TARGET`], direct CO-RE loads
/// of the record and the module's per-CPU `crt_testmod_writes` as a typed `__ksym`; fills
/// [`CrtFmodRetSeen`] and fails the write whose input is in [`TESTMOD_REFUSE_MAP`] (6.12
/// guests only, like [`C_TESTMOD_OBSERVE`]).
pub const C_TESTMOD_FMODRET: &str = "testmod_fmodret.bpf.o";
/// Program name in [`C_TESTMOD_FMODRET`].
pub const TESTMOD_FMODRET_PROGRAM: &str = "crt_refuse_input";
/// Array map (1 entry, key 0, value [`CrtFmodRetSeen`]).
pub const TESTMOD_FMODRET_SEEN_MAP: &str = "crt_fmodret_seen";
/// Array map (1 entry, key 0, `u64`): the input [`TESTMOD_FMODRET_PROGRAM`] refuses (EPERM).
pub const TESTMOD_REFUSE_MAP: &str = "crt_refuse";

/// What testmod_fmodret.bpf.c saw; mirrors `ebpf-tests/c/testmod_seen.h`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrtFmodRetSeen {
    /// The record and arguments, as [`C_TESTMOD_OBSERVE`] reads them (by direct loads here).
    pub seen: CrtSeen,
    /// The module's per-CPU `crt_testmod_writes` on the program's CPU.
    pub writes: u64,
    /// Writes the program failed with -EPERM.
    pub refused: u64,
}

// SAFETY: plain integers, repr(C), no padding.
unsafe impl aya::Pod for CrtFmodRetSeen {}

/// What testmod_observe.bpf.c read from `crt_testmod_observe(record, input)`; mirrors
/// `ebpf-tests/c/testmod_seen.h`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrtSeen {
    /// The second argument.
    pub input: u64,
    /// `record->id`.
    pub id: u64,
    /// `record->inner.tag`.
    pub tag: u64,
    /// `record->inner.value`.
    pub value: u64,
    /// `record->calls`.
    pub calls: u64,
    /// `bpf_core_type_size(struct crt_record)`.
    pub size: u64,
    /// `bpf_core_field_offset(struct crt_record, inner.value)`.
    pub off_value: u64,
    /// Times the program ran.
    pub runs: u64,
}

// SAFETY: plain integers, repr(C), no padding.
unsafe impl aya::Pod for CrtSeen {}

/// Rust (aya-ebpf + `core-reloc-ebpf`, no C): [`RUST_BTRFS_GETATTR`]'s record and
/// [`C_BTRFS_PROBES`]'s probes in one kprobe `btrfs_getattr_fields`, through named relocations.
pub const RUST_NAMED_BTRFS: &str = "btrfs_named";
/// Rust, named relocations: raw tracepoint `host_task_named` reading `task_struct` (host test).
pub const RUST_NAMED_HOST_TASK: &str = "host_task_named";

/// The objects whose kernel accesses are named relocations only (no `.BTF.ext` CO-RE
/// records), which libbpf cannot load.
pub const NAMED_OBJECTS: &[&str] = &[
    RUST_NAMED_BTRFS,
    RUST_NAMED_HOST_TASK,
    RUST_NAMED_BTRFS_FENTRY,
];
/// Pure Rust (named relocations, direct loads): same programs and maps as
/// [`RUST_BTRFS_FENTRY`], without the C shim.
pub const RUST_NAMED_BTRFS_FENTRY: &str = "btrfs_fentry_named";

/// Every object `cargo xtask build-ebpf` produces with `.BTF.ext` CO-RE records (the libbpf
/// differentials run on these); [`NAMED_OBJECTS`] are the others, and it also builds
/// [`C_TESTMOD_OBSERVE`].
pub const ALL_OBJECTS: &[&str] = &[
    C_BTRFS_GETATTR,
    C_BTRFS_PROBES,
    C_MISSING_TYPE,
    C_BTRFS_FENTRY,
    C_CT_LOOKUP,
    RUST_BTRFS_GETATTR,
    RUST_BTRFS_FENTRY,
];

/// fentry program in [`C_BTRFS_FENTRY`], on [`FENTRY_TARGET`].
pub const FENTRY_PROGRAM: &str = "btrfs_fentry_inode";
/// btrfs function (taking `struct btrfs_inode *`) that stat(2) of an uncached file reaches.
pub const FENTRY_TARGET: &str = "btrfs_get_delayed_node";
/// fexit program in [`C_BTRFS_FENTRY`], on `btrfs:btrfs_getattr`.
pub const FEXIT_PROGRAM: &str = "btrfs_fexit_getattr";
/// Hash map: inode number (`u64`) -> [`BtrfsGetattrRecord`] read by [`FENTRY_PROGRAM`].
pub const FENTRY_RECORDS_MAP: &str = "fentry_records";
/// Array map (1 entry): [`BtrfsFexitRecord`].
pub const FEXIT_RECORD_MAP: &str = "fexit_record";
/// tp_btf program in [`C_BTRFS_FENTRY`], on btrfs's `btrfs_sync_file` tracepoint.
pub const TP_BTF_PROGRAM: &str = "btrfs_tp_sync_file";
/// Array map (1 entry): [`BtrfsSyncRecord`].
pub const SYNC_RECORD_MAP: &str = "sync_record";
/// xdp program in [`C_CT_LOOKUP`].
pub const CT_LOOKUP_PROGRAM: &str = "ct_lookup_absent";
/// Array map (1 entry): [`CtResult`].
pub const CT_RESULT_MAP: &str = "ct_result";

/// What the fexit program on btrfs_getattr saw (mirrors `ebpf-tests/c/btrfs_fentry.bpf.c`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BtrfsFexitRecord {
    /// Number of recorded returns.
    pub hits: u64,
    /// btrfs_getattr's return value.
    pub ret: i64,
    /// `path->dentry->d_inode->i_ino`.
    pub ino: u64,
    /// `stat->ino` as btrfs_getattr filled it.
    pub stat_ino: u64,
    /// `stat->size`.
    pub stat_size: i64,
    /// `stat->blksize`.
    pub blksize: u32,
    /// Process that called stat.
    pub tgid: u32,
}

// SAFETY: plain integers, repr(C), no padding.
unsafe impl aya::Pod for BtrfsFexitRecord {}

/// What the tp_btf program saw for the last fsync (mirrors `ebpf-tests/c/btrfs_fentry.bpf.c`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BtrfsSyncRecord {
    /// Number of recorded fsyncs.
    pub hits: u64,
    /// `file->f_inode->i_ino`.
    pub ino: u64,
    /// The tracepoint's `datasync` argument.
    pub datasync: i64,
}

// SAFETY: plain integers, repr(C), no padding.
unsafe impl aya::Pod for BtrfsSyncRecord {}

/// Outcome of the conntrack lookup (mirrors `ebpf-tests/c/ct_lookup.bpf.c`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CtResult {
    /// Runs of the program.
    pub runs: u64,
    /// 1 when the lookup returned a connection.
    pub found: u64,
    /// `opts.error` after the call.
    pub error: i64,
}

// SAFETY: plain integers, repr(C), no padding.
unsafe impl aya::Pod for CtResult {}

/// Program name of the field-reading kprobe, in both the C and the Rust object.
pub const BTRFS_GETATTR_PROGRAM: &str = "btrfs_getattr_fields";
/// Program name in [`C_BTRFS_PROBES`].
pub const PROBES_PROGRAM: &str = "btrfs_probes_run";
/// Program name in [`C_MISSING_TYPE`].
pub const MISSING_TYPE_PROGRAM: &str = "missing_type_read";
/// Kernel function all the kprobes attach to (reached by stat(2) on btrfs).
pub const KPROBE_TARGET: &str = "btrfs_getattr";

/// Array map (1 entry, key 0, value `u32`): the tgid whose stat calls are recorded; 0 = any.
pub const TARGET_TGID_MAP: &str = "target_tgid";
/// Array map (1 entry, key 0, value [`BtrfsGetattrRecord`]).
pub const RECORD_MAP: &str = "btrfs_getattr_record";
/// Array map of `u64` indexed by [`probe`].
pub const PROBES_MAP: &str = "btrfs_probes";

/// What the btrfs_getattr kprobe read for the last stat(2) of the target process.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BtrfsGetattrRecord {
    /// Number of recorded calls.
    pub hits: u64,
    /// `btrfs_inode.vfs_inode.i_ino`, reached through container_of.
    pub ino: u64,
    /// `btrfs_inode.root->root_key.objectid`: the subvolume id.
    pub root_objectid: u64,
    /// `btrfs_inode.root->fs_info->sectorsize`.
    pub sectorsize: u32,
    /// `btrfs_inode.root->fs_info->nodesize`.
    pub nodesize: u32,
    /// Process that called stat.
    pub tgid: u32,
    /// Padding, always 0.
    pub pad: u32,
}

// SAFETY: plain integers, repr(C), no padding beyond the explicit field.
unsafe impl aya::Pod for BtrfsGetattrRecord {}

impl BtrfsGetattrRecord {
    /// Size of the map value.
    pub const SIZE: usize = size_of::<BtrfsGetattrRecord>();

    /// Decodes a map value (native byte order, as the kernel wrote it).
    pub fn from_bytes(bytes: &[u8]) -> BtrfsGetattrRecord {
        assert_eq!(bytes.len(), Self::SIZE, "record size");
        let u64_at = |at: usize| u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap());
        let u32_at = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap());
        BtrfsGetattrRecord {
            hits: u64_at(0),
            ino: u64_at(8),
            root_objectid: u64_at(16),
            sectorsize: u32_at(24),
            nodesize: u32_at(28),
            tgid: u32_at(32),
            pad: u32_at(36),
        }
    }
}

/// Indices into [`PROBES_MAP`], and the expectation key each one is checked against.
pub mod probe {
    /// Number of runs of the probes program.
    pub const RAN: u32 = 0;
    /// `bpf_core_type_exists(struct btrfs_inode)`.
    pub const INODE_TYPE_EXISTS: u32 = 1;
    /// `bpf_core_type_size(struct btrfs_inode)`.
    pub const INODE_TYPE_SIZE: u32 = 2;
    /// `bpf_core_field_exists(btrfs_inode.location)` (6.1: 1, 6.12: 0).
    pub const INODE_LOCATION_EXISTS: u32 = 3;
    /// `bpf_core_field_offset(btrfs_inode.vfs_inode)`, 0 when the field is missing.
    pub const INODE_VFS_INODE_OFFSET: u32 = 4;
    /// `bpf_core_field_offset(btrfs_inode.generation)`, 0 when the field is missing.
    pub const INODE_GENERATION_OFFSET: u32 = 5;
    /// `bpf_core_field_size(btrfs_fs_info.nodesize)`, 0 when the field is missing.
    pub const FS_INFO_NODESIZE_SIZE: u32 = 6;
    /// `bpf_core_enum_value_exists(enum btrfs_map_op, BTRFS_MAP_DISCARD)` (6.1: 1, 6.12: 0).
    pub const MAP_DISCARD_EXISTS: u32 = 7;
    /// `bpf_core_enum_value_exists(enum btrfs_map_op, BTRFS_MAP_GET_READ_MIRRORS)`.
    pub const MAP_READ_MIRRORS_EXISTS: u32 = 8;
    /// `bpf_core_enum_value(enum btrfs_map_op, BTRFS_MAP_GET_READ_MIRRORS)` (6.1: 3, 6.12: 2).
    pub const MAP_READ_MIRRORS_VALUE: u32 = 9;
    /// `bpf_core_type_size(struct btrfs_root)`.
    pub const ROOT_TYPE_SIZE: u32 = 10;
    /// Number of entries.
    pub const COUNT: u32 = 11;

    /// Each probe index with its expectation key (all but [`RAN`]).
    pub const EXPECTED: &[(u32, &str)] = &[
        (INODE_TYPE_EXISTS, "btf.struct.btrfs_inode.exists"),
        (INODE_TYPE_SIZE, "btf.struct.btrfs_inode.size"),
        (
            INODE_LOCATION_EXISTS,
            "btf.struct.btrfs_inode.member.location.exists",
        ),
        (
            INODE_VFS_INODE_OFFSET,
            "btf.struct.btrfs_inode.member.vfs_inode.offset",
        ),
        (
            INODE_GENERATION_OFFSET,
            "btf.struct.btrfs_inode.member.generation.offset",
        ),
        (
            FS_INFO_NODESIZE_SIZE,
            "btf.struct.btrfs_fs_info.member.nodesize.size",
        ),
        (
            MAP_DISCARD_EXISTS,
            "btf.enum.btrfs_map_op.BTRFS_MAP_DISCARD.exists",
        ),
        (
            MAP_READ_MIRRORS_EXISTS,
            "btf.enum.btrfs_map_op.BTRFS_MAP_GET_READ_MIRRORS.exists",
        ),
        (
            MAP_READ_MIRRORS_VALUE,
            "btf.enum.btrfs_map_op.BTRFS_MAP_GET_READ_MIRRORS.value",
        ),
        (ROOT_TYPE_SIZE, "btf.struct.btrfs_root.size"),
    ];
}
