/* jsonw.c writes exactly what json_dumps(v, JSON_COMPACT) writes. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "base/jsonw.h"

static void same_as_jansson(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	char *ours, *theirs;

	CHECK(v != NULL);
	if (!v)
		return;
	ours = rg_json_compact(v);
	theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	CHECK_STR(ours, theirs);
	/* the same text when it starts in a caller's array of any size: moved
	 * to the heap when it does not fit */
	for (size_t size = 1; size <= 64; size++) {
		char array[64];
		rg_jbuf b;
		rg_jbuf_on(&b, array, size);
		CHECK(rg_jbuf_value(&b, v));
		CHECK_STR(b.data, theirs);
		CHECK(b.len == strlen(theirs));
		CHECK(strlen(theirs) < size || b.data != array);
		rg_jbuf_done(&b);
		CHECK(b.data == NULL && b.len == 0);
	}
	free(ours);
	free(theirs);
	json_decref(v);
}

int main(void)
{
	rg_jbuf b = {0};
	json_t *v;
	char *s;

	same_as_jansson("{}");
	same_as_jansson("[]");
	same_as_jansson("{\"a\":{},\"b\":[],\"c\":[[],{}]}");
	same_as_jansson("{\"z\":1,\"a\":2,\"m\":3}"); /* insertion order */
	same_as_jansson("[true,false,null,0,-1,9223372036854775807,-9223372036854775808]");
	same_as_jansson("[0.5,-0.0,1e300,3.14159,1e-7]");
	same_as_jansson("\"quote \\\" backslash \\\\ slash / tab \\t nl \\n cr \\r bs \\b ff \\f\"");
	same_as_jansson("\"\\u0000\\u0001\\u001f\\u007f\\u0080\"");
	same_as_jansson("\"\\u00e9 \\u4e2d \\ud83d\\ude00 \\u2028\"");
	same_as_jansson("{\"k\\u0001\\\"\":\"v\"}");
	same_as_jansson("{\"sub\":\"user-1\",\"video\":{\"roomJoin\":true,\"room\":\"r\"},"
			"\"roomConfig\":{\"agents\":[{\"agentName\":\"a\",\"metadata\":"
			"\"{\\\"user_id\\\":\\\"1\\\"}\"}]}}");

	/* the exact bytes, not only equality with jansson */
	v = json_pack("{s:s,s:[i,b]}", "a", "x\ny\x01", "b", -5, 1);
	s = rg_json_compact(v);
	CHECK_STR(s, "{\"a\":\"x\\ny\\u0001\",\"b\":[-5,true]}");
	free(s);

	/* members without braces, then more, as the signer splices claims */
	CHECK(rg_jbuf_put(&b, "{", 1) && rg_jbuf_members(&b, v) && rg_jbuf_put(&b, ",\"n\":1}", 7));
	CHECK_STR(b.data, "{\"a\":\"x\\ny\\u0001\",\"b\":[-5,true],\"n\":1}");
	free(b.data);
	json_decref(v);

	/* text that fits stays in the caller's array: no allocation */
	{
		char array[32];
		rg_jbuf_on(&b, array, sizeof(array));
		CHECK(rg_jbuf_member(&b, "{\"a\":", "0123456789abcdef") && rg_jbuf_put(&b, "}", 1));
		CHECK_STR(b.data, "{\"a\":\"0123456789abcdef\"}");
		CHECK(b.data == array);
		rg_jbuf_done(&b);
	}

	/* a large value grows the buffer */
	v = json_array();
	for (int i = 0; i < 5000; i++)
		json_array_append_new(v, json_string("0123456789\"abcdef"));
	s = rg_json_compact(v);
	{
		char *t = json_dumps(v, JSON_COMPACT);
		CHECK_STR(s, t);
		free(t);
	}
	free(s);
	json_decref(v);
	CHECK(rg_json_compact(NULL) == NULL);
	CHECK_DONE();
}
