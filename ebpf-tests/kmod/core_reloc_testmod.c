// SPDX-License-Identifier: GPL-2.0
/*
 * core_reloc_testmod: a test module for module-aware CO-RE, in the spirit of the kernel's
 * bpf_testmod. Its structs change layout between two build variants (CRT_VARIANT 1 and 2),
 * so a CO-RE program reading them must be relocated against this module's BTF.
 *
 * Writing a decimal number N to /proc/core_reloc_testmod fills a record from N and calls
 * the noinline crt_testmod_observe(), which programs attach to (kprobe/fentry/fmod_ret) to
 * read its arguments; a negative return (an fmod_ret program's) fails the write with it.
 * Reading the file reports the record's values and layout as the module sees them:
 * "variant V size S off_id O1 off_value O2 off_tag O3 id I value N tag T calls C writes W"
 * (W: the per-CPU crt_testmod_writes summed, which programs read as a typed __ksym).
 *
 * crt_testmod_observe is registered for fmod_ret (register_btf_fmodret_id_set, as HID-BPF
 * does): Debian builds without CONFIG_FUNCTION_ERROR_INJECTION, so ALLOW_ERROR_INJECTION
 * would not make it a modify-return target.
 */
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/stddef.h>
#include <linux/uaccess.h>

#ifndef CRT_VARIANT
#define CRT_VARIANT 1
#endif

struct crt_inner {
#if CRT_VARIANT == 2
	u64 generation;
	u16 flags;
#endif
	u32 tag;
	u64 value;
};

struct crt_record {
#if CRT_VARIANT == 2
	char label[40];
	struct list_head node; /* embedded vmlinux struct: matched by size on relocation */
#endif
	u32 id;
	struct crt_inner inner;
#if CRT_VARIANT == 1
	struct list_head node;
#endif
	struct file *file; /* a pointer to a vmlinux struct */
	u64 calls;
};

static struct crt_record crt_last;
static DEFINE_MUTEX(crt_lock);
/* Global, so pahole gives it a BTF VAR (it encodes per-CPU variables only). */
DEFINE_PER_CPU(u64, crt_testmod_writes);

int crt_testmod_observe(struct crt_record *record, u64 input);

/* The function programs attach to; noinline and used so its arguments stay real. */
noinline int crt_testmod_observe(struct crt_record *record, u64 input)
{
	asm volatile("" : : "r"(record), "r"(input) : "memory");
	/* Never negative on its own: only an fmod_ret program fails the write. */
	return (int)((record->id + input) & 0x7fffffff);
}
EXPORT_SYMBOL_GPL(crt_testmod_observe);

static ssize_t crt_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	u64 input;
	int ret, err = kstrtou64_from_user(buf, len, 10, &input);

	if (err)
		return err;
	mutex_lock(&crt_lock);
	crt_last.id = (u32)(input * 3 + 1);
	crt_last.inner.tag = 0xc0de0000u | (u32)(input & 0xffff);
	crt_last.inner.value = input;
	crt_last.calls++;
	crt_last.file = file;
	this_cpu_inc(crt_testmod_writes);
	ret = crt_testmod_observe(&crt_last, input);
	mutex_unlock(&crt_lock);
	return ret < 0 ? ret : len;
}

static int crt_show(struct seq_file *m, void *v)
{
	u64 writes = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		writes += *per_cpu_ptr(&crt_testmod_writes, cpu);
	mutex_lock(&crt_lock);
	seq_printf(m,
		   "variant %d size %zu off_id %zu off_value %zu off_tag %zu id %u value %llu tag %u calls %llu writes %llu\n",
		   CRT_VARIANT, sizeof(struct crt_record), offsetof(struct crt_record, id),
		   offsetof(struct crt_record, inner.value), offsetof(struct crt_record, inner.tag),
		   crt_last.id, crt_last.inner.value, crt_last.inner.tag, crt_last.calls, writes);
	mutex_unlock(&crt_lock);
	return 0;
}

static int crt_open(struct inode *inode, struct file *file)
{
	return single_open(file, crt_show, NULL);
}

static const struct proc_ops crt_ops = {
	.proc_open = crt_open,
	.proc_read = seq_read,
	.proc_write = crt_write,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
};

static struct proc_dir_entry *crt_entry;

/* Ids filled in after distillation by `cargo xtask kmod` (our resolve_btfids step). */
BTF_KFUNCS_START(crt_fmodret_ids)
BTF_ID_FLAGS(func, crt_testmod_observe)
BTF_KFUNCS_END(crt_fmodret_ids)

static const struct btf_kfunc_id_set crt_fmodret_set = {
	.owner = THIS_MODULE,
	.set = &crt_fmodret_ids,
};

static int __init crt_init(void)
{
	int err = register_btf_fmodret_id_set(&crt_fmodret_set);

	if (err)
		return err;
	INIT_LIST_HEAD(&crt_last.node);
	crt_entry = proc_create("core_reloc_testmod", 0666, NULL, &crt_ops);
	return crt_entry ? 0 : -ENOMEM;
}

static void __exit crt_exit(void)
{
	proc_remove(crt_entry);
}

module_init(crt_init);
module_exit(crt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("core-reloc test module: structs whose layout differs between builds");
