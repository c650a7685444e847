/* Unit tests for plugins/mirror/spec.c: every --mirror form a DBA writes
 * resolves to one canonical driver:arg (no LVM needed: the resolution is
 * textual), and every other form is refused with its exact message, the
 * usage exit code and the hint listing the forms. */
#include <stdlib.h>
#include <string.h>

#include "plugins/mirror/mirror.h"
#include "tests/lib/tap.h"

static void resolves(const char *spec, const char *want)
{
	struct mb_error e = { 0 };
	char *canon = NULL;
	int rc = mb_mirror_resolve(spec, &canon, &e);

	ok(rc == 0, spec);
	is_str(canon ? canon : e.msg, want, spec);
	free(canon);
}

static void refused(const char *spec, const char *msg)
{
	struct mb_error e = { 0 };
	char *canon = NULL;
	int rc = mb_mirror_resolve(spec, &canon, &e);

	ok(rc == -1 && e.code == MB_ERR_USAGE && !canon, spec);
	is_str(e.msg, msg, spec);
	is_str(e.hint, "use VG/LV, /dev/VG/LV or /dev/mapper/VG-LV (an LVM volume; lvm:VG/LV "
	       "also works), or loop:/dev/loopN (a loop device on a reflink filesystem)", spec);
	free(canon);
}

int main(void)
{
	plan(2 * 14 + 3 * 13);
	/* the plain forms of one LV: all the same run */
	resolves("vg/pgdata", "lvm:vg/pgdata");
	resolves("/dev/vg/pgdata", "lvm:vg/pgdata");
	resolves("/dev/mapper/vg-pgdata", "lvm:vg/pgdata");
	resolves("lvm:vg/pgdata", "lvm:vg/pgdata");
	resolves("lvm:/dev/vg/pgdata", "lvm:vg/pgdata");
	resolves("lvm:/dev/mapper/vg-pgdata", "lvm:vg/pgdata");
	/* LVM's dash escaping in device-mapper names */
	resolves("/dev/mapper/data--vg-pg--data", "lvm:data-vg/pg-data");
	resolves("/dev/mapper/vg----x-lv", "lvm:vg--x/lv");
	resolves("data-vg/pg-data", "lvm:data-vg/pg-data");
	resolves("vg0/pg_wal.1+x", "lvm:vg0/pg_wal.1+x");
	/* loop */
	resolves("loop:/dev/loop3", "loop:/dev/loop3");
	resolves("/dev/loop12", "loop:/dev/loop12");
	resolves("loop:/srv/img", "loop:/srv/img");
	resolves("/dev/mapper/a-b", "lvm:a/b");
	/* refused */
	refused("pgdata", "unknown mirror 'pgdata'");
	refused("", "unknown mirror ''");
	refused("vg/lv/x", "unknown mirror 'vg/lv/x'");
	refused("/dev/sda1", "unknown mirror '/dev/sda1'");
	refused("/dev/loop", "unknown mirror '/dev/loop'");
	refused("/dev/mapper/vgpgdata", "unknown mirror '/dev/mapper/vgpgdata'");
	refused("/dev/mapper/vg-lv-real", "unknown mirror '/dev/mapper/vg-lv-real'");
	refused("/dev/disk/by-id/dm-name-vg-lv", "unknown mirror '/dev/disk/by-id/dm-name-vg-lv'");
	refused("vg/-lv", "unknown mirror 'vg/-lv'");
	refused("vg/l v", "unknown mirror 'vg/l v'");
	refused("zfs:tank/pg", "unknown mirror driver 'zfs' in 'zfs:tank/pg'");
	refused("lvm:pgdata", "invalid logical volume 'pgdata'");
	refused("lvm:vg/..", "invalid logical volume 'vg/..'");
	return done_testing();
}
