// SPDX-License-Identifier: GPL-2.0
/* Two modules define `struct e1000_adapter` with different layouts (e1000 and e1000e): each
 * program binds the type to the module that owns its attach target, named in kallsyms.
 * Relocation only (loader/tests/module_selection.rs); the guests do not load e1000. */
#include <linux/types.h>
#include <asm/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

struct net_device;

struct e1000_adapter {
	struct net_device *netdev;
	__u32 msg_enable;
} __attribute__((preserve_access_index));

__u64 seen[4] = {};

SEC("kprobe/e1000_down")
int e1000_down_probe(struct pt_regs *ctx)
{
	struct e1000_adapter *adapter = (struct e1000_adapter *)PT_REGS_PARM1(ctx);

	seen[0] = (__u64)BPF_CORE_READ(adapter, netdev);
	seen[1] = BPF_CORE_READ(adapter, msg_enable);
	return 0;
}

SEC("kprobe/e1000e_down")
int e1000e_down_probe(struct pt_regs *ctx)
{
	struct e1000_adapter *adapter = (struct e1000_adapter *)PT_REGS_PARM1(ctx);

	seen[2] = (__u64)BPF_CORE_READ(adapter, netdev);
	seen[3] = BPF_CORE_READ(adapter, msg_enable);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
