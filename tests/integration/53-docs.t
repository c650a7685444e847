#!/bin/bash
# The man pages and the bash completion, generated from the option table:
# they render without a single groff warning, document every command and
# every option the parser knows (read back from --help) and the exit codes
# --help lists (one table: common/error.c), the completion
# offers every command's options and the values the table names, and
# `make install` installs them with the binary.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
D=$(dirname "$MB")
# The pages and the completion are built beside the binary; a binary
# without them (a copy elsewhere, as the guest suites use) is checked
# against the tree's: they must still match its --help
DOCS=$D
[ -e "$DOCS/man/mbackup.8" ] || DOCS=$MB_ROOT/build
MAN8=$DOCS/man/mbackup.8 MAN5=$DOCS/man/mbackup.conf.5 COMPL=$DOCS/completion/mbackup
[ -e "$MAN8" ] || bail_out "no man page at '$MAN8' (run make)"
SCRATCH=$(mktemp -d /var/tmp/mbackup-docs.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

for page in "$MAN8" "$MAN5"; do
	run groff -man -ww -z "$page"
	exit_is 0 "$(basename "$page"): groff -man -ww renders it"
	is "$RUN_ERR" "" "$(basename "$page"): without a warning"
	run man --warnings -l "$page"
	is "$RUN_ERR" "" "$(basename "$page"): man --warnings has nothing to say"
done

# The page as a reader sees it, one option or key per line start.
text8=$(MANWIDTH=250 man -l "$MAN8" 2>/dev/null | col -bx)
text5=$(MANWIDTH=250 man -l "$MAN5" 2>/dev/null | col -bx)
run "$MB" --help
options=$(sed -n 's/^  --\([a-z][a-z0-9-]*\).*/\1/p' <<<"$RUN_OUT")
verbs=$(sed -n '/^commands:$/,/^$/ s/^  \([a-z-]*\) .*/\1/p' <<<"$RUN_OUT")
is "$(wc -l <<<"$options")" \
	"$(sed -n '/^const struct opt_def mb_opt_table/,/^};/p' "$MB_ROOT/orchestrator/options.c" | grep -c '^	{ "')" \
	"--help lists every row of the option table"
missing8= missing5=
for o in $options; do
	grep -qE "^       --$o( |$)" <<<"$text8" || missing8+=" $o"
	case $o in help|version|config) continue ;; esac
	grep -qE "^       $o = " <<<"$text5" || missing5+=" $o"
done
is "$missing8" "" "mbackup(8) documents every option of --help"
is "$missing5" "" "mbackup.conf(5) documents every option as a key (but help, version, config)"
missing8=
for v in $verbs; do
	grep -qE "^       $v( |$)" <<<"$(sed -n '/^COMMANDS/,/^OPTIONS/p' <<<"$text8")" || missing8+=" $v"
done
is "$missing8" "" "mbackup(8) documents every command of --help"
like "$text8" "--freeze-timeout SECONDS.*
 *Default: 10\. Range: 1\.\.3600\. Config file key: freeze-timeout\. Commands: backup, check\." \
	"an option's default, range, config key and commands"
like "$text8" "
       --mirror VG/LV \(lvm\)" "the drivers from the registry: lvm"
like "$text8" "
       --media tape:/dev/nstN \(tape\)" "... and tape"
like "$text8" "
       17     a requested file or run does not exist \(wal-get: the file is not archived, with no message\) \(not-found\)\." "the exit codes"
# The exit codes: one table (common/error.c) behind --help and the page.
codes=$(sed -n '/^exit codes:$/,/^$/ s/^ *\([0-9][0-9]*\) \([a-z-]*\) *\(.*\)/\1 \3 (\2)./p' <<<"$RUN_OUT")
is "$(wc -l <<<"$codes")" \
	"$(sed -n '/^enum mb_code {/,/MB_CODE_MAX/p' "$MB_ROOT/common/error.h" | grep -c '^	MB_[A-Z_]* = [0-9]*,')" \
	"--help lists every exit code of common/error.h"
is "$(sed -n '/^EXIT STATUS$/,/^[A-Z]/ s/^       \([0-9][0-9]*\) *\(.*\)/\1 \2/p' <<<"$text8")" "$codes" \
	"mbackup(8)'s exit codes are --help's, word for word"
is "$(grep '^15 ' <<<"$codes")" "15 interrupted (SIGINT, SIGTERM, SIGHUP); a signal inside the window waits for the thaw; the run is marked failed (interrupted)." \
	"... a code's line: its number, meaning and name"
like "$text8" "mbackup --db postgres --mirror vg/pgdata --mirror vg/pgwal" \
	"the examples use the plain --mirror form"
for section in PHASES SAFETY PROGRESS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "JSON OUTPUT"; do
	like "$text8" "
$section
" "mbackup(8) has $section"
done

# --help lists every driver of the registries
for drv in lvm loop file pipe stdout tape; do
	like "$RUN_OUT" "
  $drv +[^ ]+ " "--help lists the $drv driver"
done

# The completion: complete WORDS...: COMPREPLY for the last word.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mbackup
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPL" "$@"
}
is "$(complete_words mbackup '' | tr '\n' ' ')" "$(tr '\n' ' ' <<<"$verbs")" \
	"completion: the commands"
is "$(complete_words mbackup --db '' | tr '\n' ' ')" "postgres none " "completion: --db values"
is "$(complete_words mbackup --order '' | tr '\n' ' ')" "desc asc logical " \
	"completion: --order values"
is "$(complete_words mbackup --media '' | sort | tr '\n' ' ')" "- file: pipe: s3: tape: " \
	"completion: --media prefixes from the registry"
like "$(complete_words mbackup --mirror '' | tr '\n' ' ')" "loop: lvm: $" \
	"completion: --mirror prefixes from the registry"
touch "$SCRATCH/img.mbi"
is "$(complete_words mbackup ls --from "$SCRATCH/im")" "$SCRATCH/img.mbi" \
	"completion: a path option completes file names"
all=
for v in $verbs; do
	want=$("$MB" "$v" --help | sed -n 's/^  \(--[a-z][a-z0-9-]*\).*/\1/p' | sort)
	got=$(complete_words mbackup "$v" -- | sort)
	all+=$'\n'$got
	[ "$v" = backup ] && continue # (backup --help lists every option)
	is "$got" "$want" "completion: the options of $v are those of mbackup $v --help"
done
is "$(sort -u <<<"$all" | sed '/^$/d')" "$(sed 's/^/--/' <<<"$options" | sort)" \
	"completion: every option of the table, for some command"
is "$(complete_words mbackup --fre | tr '\n' ' ')" "--freeze-timeout " \
	"completion: no command given means backup's options"

# make install puts the binary, both pages and the completion in place
if [ "$D" = "$MB_ROOT/build" ]; then
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$MB_ROOT" install \
		DESTDIR="$SCRATCH/root" PREFIX=/usr
	exit_is 0 "make install"
	for f in sbin/mbackup share/man/man8/mbackup.8 share/man/man5/mbackup.conf.5 \
		share/bash-completion/completions/mbackup; do
		ok "make install: /usr/$f" test -s "$SCRATCH/root/usr/$f"
	done
	ok "make install: the installed page is the built one" cmp -s "$MAN8" \
		"$SCRATCH/root/usr/share/man/man8/mbackup.8"
	like "$(MANWIDTH=100 man -M "$SCRATCH/root/usr/share/man" 5 mbackup.conf 2>/dev/null | head -1)" \
		"^MBACKUP.CONF\(5\)" "man finds the installed mbackup.conf(5)"
else
	skip 7 "make install is tested on the default build ($MB_ROOT/build), this run is of $D"
fi
done_testing
