/* A large CO-RE object for `cargo xtask bench`: well over 100 relocations over more than 20
 * kernel types, of the kinds real tracing programs use (field offsets through
 * BPF_CORE_READ chains, existence, sizes, type and enum checks, flavors).
 *
 * Built by the bench itself against a vmlinux.h dumped from the Debian 6.12 BTF:
 *   bpftool btf dump file target/kernels/6.12/btf/vmlinux format c > vmlinux.h
 *   clang-22 -g -O2 -target bpf -D__TARGET_ARCH_x86 -I<dir of vmlinux.h> -c large.bpf.c
 * It is never loaded; only relocated (ours and libbpf's bpf_object__prepare).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* One slot per read so that every relocation survives optimisation. */
__u64 out[192] = {};

#define R(slot, src, ...) (out[slot] = (__u64)BPF_CORE_READ(src, __VA_ARGS__))

/* A flavor of task_struct from before 5.14, when `state` became `__state`. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

/* A type no 6.12 kernel has, to exercise a miss. */
struct bench_no_such_type {
	int x;
} __attribute__((preserve_access_index));

SEC("kprobe/do_sys_openat2")
int task_and_files(struct pt_regs *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	int i = 0;

	R(i++, t, pid);
	R(i++, t, tgid);
	R(i++, t, flags);
	R(i++, t, prio);
	R(i++, t, start_time);
	R(i++, t, real_parent, pid);
	R(i++, t, group_leader, tgid);
	R(i++, t, mm, start_code);
	R(i++, t, mm, end_code);
	R(i++, t, mm, start_stack);
	R(i++, t, mm, arg_start);
	R(i++, t, mm, arg_end);
	R(i++, t, mm, total_vm);
	R(i++, t, mm, pgd);
	R(i++, t, cred, uid.val);
	R(i++, t, cred, gid.val);
	R(i++, t, cred, euid.val);
	R(i++, t, cred, cap_effective.val);
	R(i++, t, real_cred, suid.val);
	R(i++, t, files, next_fd);
	R(i++, t, files, fdt, max_fds);
	R(i++, t, files, fdt, fd);
	R(i++, t, fs, root.dentry);
	R(i++, t, fs, pwd.mnt);
	R(i++, t, fs, umask);
	R(i++, t, nsproxy, uts_ns, name.nodename[0]);
	R(i++, t, nsproxy, uts_ns, name.release[0]);
	R(i++, t, nsproxy, pid_ns_for_children, level);
	R(i++, t, nsproxy, net_ns, ns.inum);
	R(i++, t, nsproxy, mnt_ns, ns.inum);
	R(i++, t, signal, nr_threads);
	R(i++, t, signal, oom_score_adj);
	R(i++, t, thread_pid, level);
	R(i++, t, sched_task_group, css.id);
	R(i++, t, se.vruntime);
	R(i++, t, se.sum_exec_runtime);
	R(i++, t, utime);
	R(i++, t, stime);
	R(i++, t, nvcsw);
	R(i++, t, exit_code);
	R(i++, t, audit_context);
	R(i++, t, comm[0]);
	R(i++, ctx, di);
	R(i++, ctx, si);
	R(i++, ctx, ip);
	out[i++] = bpf_core_field_exists(t->__state);
	out[i++] = bpf_core_field_exists(((struct task_struct___pre514 *)t)->state);
	out[i++] = bpf_core_field_size(t->comm);
	out[i++] = bpf_core_type_size(struct task_struct);
	out[i++] = bpf_core_type_exists(struct bench_no_such_type);
	return 0;
}

SEC("kprobe/vfs_read")
int vfs(struct pt_regs *ctx)
{
	struct file *f = (struct file *)BPF_CORE_READ(ctx, di);
	int i = 50;

	R(i++, f, f_flags);
	R(i++, f, f_mode);
	R(i++, f, f_pos);
	R(i++, f, f_inode, i_ino);
	R(i++, f, f_inode, i_mode);
	R(i++, f, f_inode, i_size);
	R(i++, f, f_inode, i_uid.val);
	R(i++, f, f_inode, i_nlink);
	R(i++, f, f_inode, i_blocks);
	R(i++, f, f_inode, i_sb, s_dev);
	R(i++, f, f_inode, i_sb, s_magic);
	R(i++, f, f_inode, i_sb, s_blocksize);
	R(i++, f, f_inode, i_sb, s_type, name);
	R(i++, f, f_inode, i_sb, s_flags);
	R(i++, f, f_path.dentry, d_name.len);
	R(i++, f, f_path.dentry, d_name.name);
	R(i++, f, f_path.dentry, d_parent, d_name.name);
	R(i++, f, f_path.dentry, d_inode, i_ino);
	R(i++, f, f_path.dentry, d_sb, s_dev);
	R(i++, f, f_path.mnt, mnt_root, d_name.name);
	R(i++, f, f_path.mnt, mnt_sb, s_magic);
	R(i++, f, f_path.mnt, mnt_flags);
	R(i++, f, f_mapping, nrpages);
	R(i++, f, f_mapping, host, i_ino);
	R(i++, f, f_op, read_iter);
	R(i++, f, f_cred, uid.val);
	R(i++, f, private_data);
	out[i++] = bpf_core_type_size(struct inode);
	out[i++] = bpf_core_type_size(struct dentry);
	out[i++] = bpf_core_field_exists(f->f_ra);
	return 0;
}

SEC("kprobe/__netif_receive_skb_core")
int net(struct pt_regs *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)BPF_CORE_READ(ctx, di);
	int i = 80;

	R(i++, skb, len);
	R(i++, skb, data_len);
	R(i++, skb, protocol);
	R(i++, skb, mark);
	R(i++, skb, priority);
	R(i++, skb, hash);
	R(i++, skb, head);
	R(i++, skb, data);
	R(i++, skb, network_header);
	R(i++, skb, transport_header);
	R(i++, skb, dev, ifindex);
	R(i++, skb, dev, mtu);
	R(i++, skb, dev, name[0]);
	R(i++, skb, dev, flags);
	R(i++, skb, dev, nd_net.net, ns.inum);
	R(i++, skb, sk, __sk_common.skc_family);
	R(i++, skb, sk, __sk_common.skc_dport);
	R(i++, skb, sk, __sk_common.skc_num);
	R(i++, skb, sk, __sk_common.skc_daddr);
	R(i++, skb, sk, __sk_common.skc_rcv_saddr);
	R(i++, skb, sk, sk_type);
	R(i++, skb, sk, sk_protocol);
	R(i++, skb, sk, sk_rcvbuf);
	R(i++, skb, sk, sk_sndbuf);
	R(i++, skb, sk, sk_socket, state);
	R(i++, skb, sk, sk_socket, file, f_flags);
	out[i++] = bpf_core_type_size(struct sk_buff);
	out[i++] = bpf_core_type_exists(struct tcp_sock);
	out[i++] = bpf_core_field_exists(skb->tstamp);
	return 0;
}

SEC("kprobe/submit_bio")
int block(struct pt_regs *ctx)
{
	struct bio *bio = (struct bio *)BPF_CORE_READ(ctx, di);
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	int i = 110;

	R(i++, bio, bi_opf);
	R(i++, bio, bi_iter.bi_sector);
	R(i++, bio, bi_iter.bi_size);
	R(i++, bio, bi_status);
	R(i++, bio, bi_vcnt);
	R(i++, bio, bi_bdev, bd_dev);
	R(i++, bio, bi_bdev, bd_disk, major);
	R(i++, bio, bi_bdev, bd_disk, first_minor);
	R(i++, bio, bi_bdev, bd_disk, disk_name[0]);
	R(i++, bio, bi_bdev, bd_disk, queue, nr_requests);
	R(i++, bio, bi_io_vec, bv_len);
	R(i++, bio, bi_io_vec, bv_offset);
	R(i++, bio, bi_io_vec, bv_page, flags);
	R(i++, t, mm, mmap_base);
	R(i++, t, mm, task_size);
	R(i++, t, pid_links[PIDTYPE_PID].next);
	R(i++, t, cgroups, dfl_cgrp, kn, id);
	R(i++, t, cgroups, dfl_cgrp, level);
	R(i++, t, seccomp.mode);
	R(i++, t, loginuid.val);
	out[i++] = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID);
	out[i++] = bpf_core_enum_value(enum pid_type, PIDTYPE_SID);
	out[i++] = bpf_core_enum_value(enum bpf_prog_type, BPF_PROG_TYPE_KPROBE);
	out[i++] = bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_HASH);
	out[i++] = bpf_core_type_size(struct bio);
	out[i++] = bpf_core_type_size(struct block_device);
	out[i++] = bpf_core_type_exists(struct gendisk);
	out[i++] = bpf_core_type_matches(struct bio_vec);
	return 0;
}
