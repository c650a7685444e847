/*
 * Unit tests for the s3:// media's client (plugins/media/s3_http.c): the
 * key and query encoding SigV4 signs, the XML fields read from answers,
 * the spec's parse and where the settings come from (the config's, else
 * the AWS environment; neither: refused with the config's code), and a
 * request to a port nobody listens on failing with one clear line.
 */
#include <stdlib.h>
#include <string.h>

#include "plugins/media/s3.h"
#include "tests/lib/tap.h"

static void test_encode(void)
{
	char *a = mbm_s3_encode("db1/a b+c~_.-x", true), *b = mbm_s3_encode("a/é", false);

	is_str(a, "db1/a%20b%2Bc~_.-x", "a key keeps '/' and the unreserved bytes");
	is_str(b, "a%2F%C3%A9", "a query value encodes '/' and every other byte");
	free(a);
	free(b);
}

static void test_xml(void)
{
	char *id = mbm_s3_xml("<R><UploadId>2~x</UploadId></R>", "UploadId");

	is_str(id, "2~x", "the text of a tag");
	ok(!mbm_s3_xml("<R><Code>x</R>", "Code"), "an unclosed tag: NULL");
	ok(!mbm_s3_xml(NULL, "Code"), "no body: NULL");
	free(id);
}

static void clear_env(void)
{
	const char *v[] = { "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID",
			    "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION" };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		unsetenv(v[i]);
}

static void test_init(void)
{
	struct mbm_s3 c;
	struct mb_error e = { 0 };

	clear_env();
	is_int(mbm_s3_init(&c, "//bucket", NULL, &e), -1, "no key: refused");
	is_int(e.code, MB_ERR_USAGE, "as a usage error");
	is_str(e.msg, "invalid media 's3://bucket'", "the message");
	mbm_s3_fini(&c);
	mb_error_clear(&e);
	is_int(mbm_s3_init(&c, "//b/k", NULL, &e), -1, "no endpoint: refused");
	is_int(e.code, MB_ERR_CONFIG, "as a configuration error");
	is_str(e.msg, "unable to open media 's3://b/k': no endpoint", "the message");
	mbm_s3_fini(&c);
	mb_error_clear(&e);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1/", 1);
	setenv("AWS_ACCESS_KEY_ID", "AK", 1);
	is_int(mbm_s3_init(&c, "//b/k", NULL, &e), -1, "no secret: refused");
	is_str(e.msg, "unable to open media 's3://b/k': no credentials", "the message");
	mbm_s3_fini(&c);
	mb_error_clear(&e);
	setenv("AWS_SECRET_ACCESS_KEY", "SK", 1);
	is_int(mbm_s3_init(&c, "//b/dir/k", &(struct mb_media_params){ .s3 = &(struct mb_s3_settings){
			.region = "eu-west-1", .uri_style = "virtual" } }, &e), 0,
	       "the environment's endpoint and keys");
	is_str(c.endpoint, "http://127.0.0.1:1", "the endpoint without its trailing '/'");
	is_str(c.region, "eu-west-1", "the config's region first");
	is_str(c.key, "dir/k", "the key");
	ok(!c.path_style, "virtual-host style as configured");
	mbm_s3_fini(&c);
}

/* Nobody listens on port 1: every try fails, one line says so. */
static void test_unreachable(void)
{
	struct mbm_s3 c;
	struct mb_error e = { 0 };
	struct mbm_s3_req r = { .method = "HEAD" };

	if (mbm_s3_init(&c, "//b/k", NULL, &e) < 0) {
		ok(0, "init");
		return;
	}
	is_int(mbm_s3_do(&c, &r, "look up", &e), -1, "an unreachable endpoint fails");
	is_int(e.code, MB_ERR_MEDIA, "with the media's code");
	is_str(e.msg, "unable to look up 's3://b/k': Couldn't connect to server (http://127.0.0.1:1)",
	       "naming the endpoint");
	is_int((int)c.requests, 5, "after 5 tries");
	mbm_s3_req_free(&r);
	mbm_s3_fini(&c);
}

int main(void)
{
	test_encode();
	test_xml();
	test_init();
	test_unreachable();
	return done_testing();
}
