/* Target for existence.bpf.c: every field present, moved. */
struct core_existence {
	struct {
		int x;
	} s;
	int arr[4];
	int c;
	int b;
	int a;
};

struct core_existence core_existence_anchor;
