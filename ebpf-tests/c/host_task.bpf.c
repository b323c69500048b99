// SPDX-License-Identifier: GPL-2.0
/*
 * Host-kernel test: on a syscall of one chosen thread, read vmlinux structs through CO-RE
 * (task_struct pid, tgid, comm, real_parent->tgid) and a few existence/size/enum probes.
 * User space compares with gettid(), getpid(), /proc comm and getppid().
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* Only what the test reads; CO-RE finds the real layout in the kernel's BTF. */
struct task_struct {
	int pid;
	int tgid;
	char comm[16];
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));

/* Deliberately absent from every kernel: existence must be 0, not an error. */
struct core_reloc_no_such_type {
	int field;
} __attribute__((preserve_access_index));

enum pid_type___local {
	PIDTYPE_PID,
	PIDTYPE_TGID,
	PIDTYPE_PGID,
};

struct host_task_record {
	__u32 hits;
	__s32 pid;
	__s32 tgid;
	__s32 parent_tgid;
	char comm[16];
	__u32 task_struct_exists;
	__u32 no_such_type_exists;
	__u32 task_struct_size;
	__u32 comm_size;
	__u64 pidtype_pgid;
	__u32 pidtype_pgid_exists;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target_tid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct host_task_record);
} host_task_record SEC(".maps");

SEC("raw_tp/sys_enter")
int host_task(void *ctx)
{
	__u32 zero = 0;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 *target = bpf_map_lookup_elem(&target_tid, &zero);
	if (!target || *target != tid)
		return 0;
	struct host_task_record *record = bpf_map_lookup_elem(&host_task_record, &zero);
	if (!record)
		return 0;

	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	record->pid = BPF_CORE_READ(task, pid);
	record->tgid = BPF_CORE_READ(task, tgid);
	record->parent_tgid = BPF_CORE_READ(task, real_parent, tgid);
	BPF_CORE_READ_STR_INTO(&record->comm, task, comm);
	record->task_struct_exists = bpf_core_type_exists(struct task_struct);
	record->no_such_type_exists = bpf_core_type_exists(struct core_reloc_no_such_type);
	record->task_struct_size = bpf_core_type_size(struct task_struct);
	record->comm_size = bpf_core_field_size(task->comm);
	record->pidtype_pgid_exists = bpf_core_enum_value_exists(enum pid_type___local, PIDTYPE_PGID);
	record->pidtype_pgid = bpf_core_enum_value(enum pid_type___local, PIDTYPE_PGID);
	__sync_fetch_and_add(&record->hits, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
