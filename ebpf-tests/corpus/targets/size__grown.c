/* Target for size.bpf.c: every field and type changed size. */
enum core_size_enum { SIZE_A, SIZE_B, SIZE_BIG = 0x1ffffffffLL };
typedef struct core_size core_size_t;

struct core_size {
	long long int_field;
	void *ptr_field;
	enum core_size_enum enum_field;
	struct {
		int x;
		int y;
	} struct_field;
	union {
		int a;
		char b[13];
	} union_field;
	char arr_field[20];
	void (*func_field)(int);
	char tail[7];
};

core_size_t core_size_anchor;
