/* Target for existence.bpf.c: b and s.x are gone, arr is shorter (index 3 out of range),
 * c changed type incompatibly (a struct). */
struct core_existence {
	struct {
		int y;
	} s;
	struct {
		int z;
	} c;
	int arr[3];
	int a;
};

struct core_existence core_existence_anchor;
