#!/bin/bash
# The config file and the command line refuse what used to pass silently
# (issue 16, items 12, 13 and 15): a second --config, a repeated key (two
# media lines made a two-device set), a bad boolean, a key of another
# command, a config or a --volume-change program others could change, an
# option taken as the value of the one before it; a password in --pg-conn
# is warned about.  Each refusal: its exit code, one error line naming the
# file and line, one hint line.  Then a good config drives a check.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/fixture.sh"
fx_init
CONF=$SCRATCH/etc/mbackup.conf
mkdir -p "$SCRATCH/etc"

# conf TEXT: the config file, mode 0600 (whatever the umask).
conf() {
	printf '%s' "$1" >"$CONF"
	chmod 0600 "$CONF"
}

# refused NAME EXIT MESSAGE HINT -- mbackup args...: exactly that exit code,
# that one error line and that hint line.
refused() {
	local name=$1 code=$2 msg=$3 hint=$4
	shift 5
	run "$MB" "$@"
	exit_is "$code" "$name: exit $code"
	is "$(printf '%s\n' "$RUN_ERR" | grep '^mbackup: error: ')" "mbackup: error: $msg" \
		"$name: the one error line"
	is "$(printf '%s\n' "$RUN_ERR" | grep '^HINT: ')" "HINT: $hint" "$name: the hint"
}
C=(--catalog "$CATALOG")

conf $'db = none\n'
cp "$CONF" "$SCRATCH/etc/other.conf"
refused "a second --config" 2 \
	"option '--config' given twice ('$CONF' and '$SCRATCH/etc/other.conf')" \
	"give one config file; the command line overrides its lines" \
	-- check --config "$CONF" "${C[@]}" --config "$SCRATCH/etc/other.conf"

conf $'db = none\nmedia = file:/backup/a.mbi\n# the second device?\nmedia = file:/backup/b.mbi\n'
refused "two media lines" 3 "config '$CONF' line 4: option 'media' already given at line 2" \
	"several values go on one line, separated by spaces: media = A B" \
	-- check --config "$CONF" "${C[@]}"

conf $'freeze-timeout = 5\nlog-level = info\nfreeze-timeout = 60\n'
refused "a repeated scalar" 3 "config '$CONF' line 3: option 'freeze-timeout' already given at line 1" \
	"keep one of the two lines" -- check --config "$CONF" "${C[@]}"

conf $'keep-split = ture\n'
refused "a bad boolean" 3 \
	"config '$CONF' line 1: invalid value 'ture' for --keep-split: expected true, yes, 1, false, no or 0" \
	"a line with the bare name also means true" -- backup --config "$CONF" "${C[@]}"

conf $'catalog = '"$CATALOG"$'\nkeep-split\n'
refused "a key of another command" 3 "config '$CONF' line 2: option 'keep-split' does not apply to 'restore'" \
	"'keep-split' is an option of backup; keep one config file per command" \
	-- restore --config "$CONF" --from /nonexistent.mbi --to "$SCRATCH/r"

conf $'db = none\n'
chmod 0664 "$CONF"
refused "a group-writable config" 3 "config '$CONF' is writable by group or others (mode 0664)" \
	"chmod go-w '$CONF': it can name a command mbackup runs as root" \
	-- check --config "$CONF" "${C[@]}"
chmod 0600 "$CONF"
chown 65534 "$CONF"
refused "a config of another user" 3 "config '$CONF' is owned by uid 65534, not by root" \
	"chown root '$CONF'" -- check --config "$CONF" "${C[@]}"
chown 0 "$CONF"
chmod 0777 "$SCRATCH/etc"
refused "a config in a world-writable directory" 3 \
	"config '$CONF' is in directory '$SCRATCH/etc', which is writable by group or others (mode 0777)" \
	"chmod go-w '$SCRATCH/etc'" -- check --config "$CONF" "${C[@]}"
chmod 0700 "$SCRATCH/etc"

printf '#!/bin/sh\nexit 0\n' >"$SCRATCH/etc/load"
chmod 0757 "$SCRATCH/etc/load"
refused "a world-writable --volume-change" 3 \
	"--volume-change command '$SCRATCH/etc/load' is writable by group or others (mode 0757)" \
	"chmod go-w '$SCRATCH/etc/load': it is run as root" \
	-- restore --from /nonexistent.mbi --to "$SCRATCH/r" --volume-change "$SCRATCH/etc/load 1"

refused "--db --mirror X" 2 "option '--db' needs a value, not the option '--mirror' (for 'check')" \
	"write --db=VALUE for a value that starts with '--'" \
	-- check --db --mirror loop:/dev/loop3 "${C[@]}"

# a password on the command line: one warning line, the run goes on
run "$MB" check --db postgres --pg-conn "host=/nonexistent password=hunter2" "${C[@]}"
exit_is 2 "--pg-conn with a password: the run goes on to its own error (no --mirror)"
is "$(printf '%s\n' "$RUN_ERR" | grep -c ' warn  --pg-conn holds a password, which every local user can read in /proc/[0-9]*/cmdline while mbackup runs; use PGPASSFILE (~/.pgpass) or a service file (PGSERVICE) instead$')" \
	1 "--pg-conn with a password: one warning line"
run "$MB" check --db postgres --pg-conn "host=/nonexistent user=postgres" "${C[@]}"
unlike "$RUN_ERR" "password" "--pg-conn without a password: no warning"
run "$MB" --help
like "$RUN_OUT" "--pg-conn CONNINFO .*never a password here: every local user can read it in /proc/PID/cmdline.*PGPASSFILE" \
	"--help says where a password must not go, and where it may"

# a good config: one media line with two devices, read by check, backup
# and recover (as deploy/mbackup.service runs them)
fx_setup ext4
echo hello >"$SRC/hello"
conf "# two devices, on one line
db = none
mirror = loop:$SRC_LOOP
source = $SRC
media = file:$SCRATCH/out/a.mbi file:$SCRATCH/out/b.mbi
segment-threshold = 1M
keep-split = no
catalog = $CATALOG
"
run "$MB" check --config "$CONF"
exit_is 0 "check on a good config with two devices on one media line"
nok "check writes no image" test -e "$SCRATCH/out/a.mbi"
run "$MB" backup --config "$CONF"
exit_is 0 "backup on that config"
ok "both devices written" test -s "$SCRATCH/out/a.mbi" -a -s "$SCRATCH/out/b.mbi"
run "$MB" verify --from "$SCRATCH/out/a.mbi" --from "$SCRATCH/out/b.mbi"
exit_is 0 "the one media line made a two-device set that verifies"
run "$MB" recover --config "$CONF"
exit_is 0 "recover reads the backup's config"
done_testing
