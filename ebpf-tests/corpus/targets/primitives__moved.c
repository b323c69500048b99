/* Target for primitives.bpf.c: every field moved; the enum and function pointer types differ
 * in names and parameters but stay compatible. */
enum core_primitives_enum___target { XXX_A, XXX_B, XXX_C };

struct core_primitives {
	int (*f)(int, long);
	void *d;
	int pad;
	enum core_primitives_enum___target c;
	int b;
	char a;
};

struct core_primitives core_primitives_anchor;
