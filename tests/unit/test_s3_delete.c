/*
 * Unit tests for DeleteObjects (plugins/media/s3_delete.c): the request's
 * body (Quiet, each key escaped) and the answer's per-key errors (an
 * absent key is success; the first other one is named, all counted).
 */
#include <stdlib.h>
#include <string.h>

#include "plugins/media/s3_delete.h"
#include "tests/lib/tap.h"

static void test_body(void)
{
	const char *keys[] = { "db1/0000000100000000/000000010000000000000003", "a&b<c>" };
	size_t len = 0;
	char *b = mbm_s3_delete_body(keys, 2, &len);

	is_str(b, "<Delete><Quiet>true</Quiet><Object><Key>db1/0000000100000000/"
		  "000000010000000000000003</Key></Object><Object><Key>a&amp;b&lt;c&gt;</Key>"
		  "</Object></Delete>", "the body names each key, escaped, in Quiet mode");
	ok(b && len == strlen(b), "its length");
	free(b);
}

static void test_errors(void)
{
	struct mbm_s3_delete_error first;
	size_t n = 9;

	ok(mbm_s3_delete_errors("<DeleteResult></DeleteResult>", &first, &n) == 0 && n == 0,
	   "a quiet answer without errors: all removed");
	ok(mbm_s3_delete_errors("<DeleteResult><Error><Key>k1</Key><Code>NoSuchKey</Code>"
				"</Error></DeleteResult>", &first, &n) == 0 && n == 0,
	   "a key gone already is removed");
	ok(mbm_s3_delete_errors("<DeleteResult><Error><Key>k1</Key><Code>NoSuchKey</Code></Error>"
				"<Error><Key>k2</Key><Code>AccessDenied</Code><Message>m</Message>"
				"</Error><Error><Key>k3</Key><Code>InternalError</Code></Error>"
				"</DeleteResult>", &first, &n) == 0 && n == 2,
	   "two keys refused are counted");
	is_str(first.key, "k2", "the first refused key is named");
	is_str(first.code, "AccessDenied", "with its code");
	ok(mbm_s3_delete_errors(NULL, &first, &n) == 0 && n == 0, "no body: nothing refused");
}

int main(void)
{
	test_body();
	test_errors();
	return done_testing();
}
