/* How each driver is written, for --help, the man pages and the
 * completion; see help.h. */
#include "orchestrator/help.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"

#include "plugins/media/media.h"
#include "plugins/mirror/mirror.h"

static const struct mb_driver_doc docs[] = {
	{ "mirror", "lvm", "VG/LV",
	  "an LVM raid1 volume, also written /dev/VG/LV, /dev/mapper/VG-LV or lvm:VG/LV: "
	  "one leg is split off for the run, merged back and scrubbed after" },
	{ "mirror", "loop", "loop:/dev/loopN",
	  "a loop device whose backing file sits on a reflink filesystem: the split leg is "
	  "a clone of the file (hosts without device-mapper)" },
	{ "media", "file", "file:PATH",
	  "a regular file, refused if it exists (unless --force)" },
	{ "media", "pipe", "pipe:FIFO", "a named pipe another program reads" },
	{ "media", "stdout", "-", "standard output" },
	{ "media", "tape", "tape:/dev/nstN",
	  "a non-rewinding tape drive: fixed records, a label at the start, a filemark after "
	  "each image, the next volume at the end of a tape" },
};

static void fill(struct mb_driver_doc *d, const char *kind, const char *name)
{
	*d = (struct mb_driver_doc){ kind, name, NULL, "" };
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		if (strcmp(docs[i].kind, kind) == 0 && strcmp(docs[i].name, name) == 0)
			*d = docs[i];
}

bool mb_driver_doc_at(size_t i, struct mb_driver_doc *d)
{
	const struct mb_mirror_ops *m;
	const struct mb_media_ops *md;
	size_t n = 0;

	while (mb_mirror_driver_at(n))
		n++;
	if (i < n && (m = mb_mirror_driver_at(i))) {
		fill(d, "mirror", m->name);
		return true;
	}
	if ((md = mb_media_driver_at(i - n))) {
		fill(d, "media", md->name);
		return true;
	}
	return false;
}

void mb_help_exit_codes(void)
{
	printf("\nexit codes:\n");
	for (int c = 0; c < MB_CODE_MAX; c++)
		printf("  %2d %-12s %s\n", c, mb_code_name(c), mb_code_text(c));
}
