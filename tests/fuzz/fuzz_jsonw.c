/* Fuzz target: jsonw.c's writer must produce exactly jansson's compact
 * text for any value jansson parses (a differential check). */
#include "base/jsonw.h"
#include "base/util.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = rg_json_load((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	char *ours, *theirs;

	if (!v)
		return 0;
	ours = rg_json_compact(v);
	theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!ours || !theirs || strcmp(ours, theirs)) {
		fprintf(stderr, "jsonw mismatch:\n ours:   %s\n jansson: %s\n", ours ? ours : "(null)",
			theirs ? theirs : "(null)");
		abort();
	}
	/* the same text when it starts in a small caller's array */
	{
		char array[24];
		rg_jbuf b;
		rg_jbuf_on(&b, array, 1 + size % sizeof(array));
		if (!rg_jbuf_value(&b, v) || b.len != strlen(theirs) || strcmp(b.data, theirs)) {
			fprintf(stderr, "jsonw mismatch from a caller's array:\n ours:   %s\n jansson: %s\n",
				b.data ? b.data : "(null)", theirs);
			abort();
		}
		rg_jbuf_done(&b);
	}
	free(ours);
	free(theirs);
	json_decref(v);
	return 0;
}
