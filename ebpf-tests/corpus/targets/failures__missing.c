/* Target for failures.bpf.c: missing_field and nested.inner_missing gone, arr too short,
 * core_failures_missing_type absent, FAIL_MISSING absent. */
struct core_failures {
	int arr[2];
	struct {
		int other;
	} nested;
	int present;
};

enum core_failures_enum { FAIL_PRESENT = 10 };

struct core_failures failures_anchor1;
enum core_failures_enum failures_anchor2;
