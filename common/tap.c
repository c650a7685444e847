/* See tap.h. */
#include "common/tap.h"

int mb_tap_emit(void *tap, const void *buf, size_t len, struct mb_error *e)
{
	struct mb_tap *t = tap;

	if (t->see(t->see_arg, buf, len, e) < 0)
		return -1;
	return t->next ? t->next(t->next_arg, buf, len, e) : 0;
}

mb_emit_fn mb_tap_target(mb_emit_fn emit, void *emit_arg, void **arg)
{
	while (emit == mb_tap_emit) {
		const struct mb_tap *t = emit_arg;

		emit = t->next;
		emit_arg = t->next_arg;
	}
	*arg = emit_arg;
	return emit;
}

int mb_tap_see(mb_emit_fn emit, void *emit_arg, const void *buf, size_t len,
	       struct mb_error *e)
{
	while (emit == mb_tap_emit) {
		const struct mb_tap *t = emit_arg;

		if (t->see(t->see_arg, buf, len, e) < 0)
			return -1;
		emit = t->next;
		emit_arg = t->next_arg;
	}
	return 0;
}
