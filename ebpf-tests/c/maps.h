/* Maps shared by the btrfs_getattr programs (C and Rust define the same names and layouts). */
#ifndef MAPS_H
#define MAPS_H

#include "btrfs_read.h"

/* Key 0: the tgid whose stat calls are recorded; 0 records every process. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target_tgid SEC(".maps");

/* Key 0: the last record. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct btrfs_getattr_record);
} btrfs_getattr_record SEC(".maps");

/* The record to fill for the current process, or NULL when it is not the target. */
static __always_inline struct btrfs_getattr_record *record_for_current(void)
{
	__u32 zero = 0;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 *target = bpf_map_lookup_elem(&target_tgid, &zero);

	if (!target || (*target && *target != tgid))
		return NULL;
	struct btrfs_getattr_record *record = bpf_map_lookup_elem(&btrfs_getattr_record, &zero);
	if (record)
		record->tgid = tgid;
	return record;
}

#endif
