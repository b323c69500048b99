/* Target for subprogs.bpf.c: fields moved, c shrunk to an int. */
struct core_subprogs {
	int c;
	long long pad;
	int b;
	int a;
};

struct core_subprogs subprogs_anchor;
