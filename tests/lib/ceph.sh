# tests/lib/ceph.sh - a throw-away Ceph object store for the s3:// tests.
#
#   . tests/lib/tap.sh; . tests/lib/fixture.sh; . tests/lib/ceph.sh
#   fx_init; fx_ceph_up          # Ceph under $SCRATCH/ceph on 127.0.0.1
#       $S3_ENDPOINT $S3_REGION $S3_ACCESS_KEY $S3_SECRET_KEY $RGW_PORT
#   s3 METHOD PATH [curl args]   # a signed request; prints the body, then
#                                # the HTTP status on a line of its own
#   s3_mb BUCKET                 # creates a bucket
#   s3_keys BUCKET [PREFIX]      # the keys, one a line
#   s3_uploads BUCKET            # the keys of its unfinished multipart uploads
#   s3_wait_upload BUCKET KEY    # waits (10 s at most) until KEY's upload is listed
#   s3_get BUCKET/KEY FILE       # the object into FILE
#   fx_ceph_down                 # stops it (fx_cleanup does too)
#   s3_rgw_kill, s3_rgw_start    # the gateway killed (kill -9) and started again
#   s3_conf FILE                 # an mbackup config (mode 0600) for this store
#   fx_s3_suite                  # the usual start: the store, bucket 'backups',
#                                # $SRC on a loop mirror, populated; $CONF, C=(--config $CONF)
# The cluster is stopped at exit by fx_cleanup (tests/lib/fixture.sh).

fx_ceph_up() {
	local t env
	for t in ceph-mon ceph-osd radosgw curl; do
		command -v "$t" >/dev/null || skip_all "missing '$t' (run deploy/setup)"
	done
	FX_CEPH_DIR=$SCRATCH/ceph
	env=$("$MB_ROOT/tests/lib/ceph-up" "$FX_CEPH_DIR" 2>"$SCRATCH/ceph-up.log") ||
		bail_out "ceph-up failed: $(tail -n 5 "$SCRATCH/ceph-up.log" | tr '\n' ' ')"
	eval "$env"
	export S3_ENDPOINT S3_REGION S3_ACCESS_KEY S3_SECRET_KEY RGW_PORT
}

fx_ceph_down() {
	[ -n "${FX_CEPH_DIR:-}" ] && [ -d "$FX_CEPH_DIR" ] &&
		"$MB_ROOT/tests/lib/ceph-down" "$FX_CEPH_DIR" --keep
	return 0
}

s3() {
	local method=$1 path=$2
	shift 2
	curl -s -X "$method" --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -w '\n%{http_code}\n' "$@" "$S3_ENDPOINT/$path"
}

s3_mb() {
	[ "$(s3 PUT "$1" | tail -n 1)" = 200 ]
}

s3_keys() {
	s3 GET "$1?list-type=2&prefix=$(printf '%s' "${2:-}" | sed 's|/|%2F|g')" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}

s3_uploads() {
	s3 GET "$1?uploads=" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}

s3_wait_upload() {
	local i
	for i in $(seq 100); do
		s3_uploads "$1" | grep -qxF "$2" && return 0
		sleep 0.1
	done
	return 1
}

s3_get() {
	curl -s -f --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -o "$2" "$S3_ENDPOINT/$1"
}

# s3_rgw_kill: kill -9 of the gateway (the mon and the OSD stay up).
s3_rgw_kill() {
	local pid
	pid=$(cat "$FX_CEPH_DIR/run/rgw.pid") || return 1
	kill -KILL "$pid"
	while [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
		sleep 0.05
	done
}

# s3_rgw_start: the gateway again, on its port; returns once it answers.
s3_rgw_start() {
	local i
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && [ "$fd" -lt 255 ] && eval "exec $fd>&-"
		done
		CEPH_CONF=$FX_CEPH_DIR/ceph.conf exec radosgw -n client.rgw.a </dev/null \
			>>"$FX_CEPH_DIR/log/daemons.out" 2>&1
	) || return 1
	for i in $(seq 150); do
		[ "$(s3 GET "" -o /dev/null | tail -n 1)" = 200 ] && return 0
		sleep 0.2
	done
	return 1
}

# s3_conf FILE: an mbackup config file with the store's settings, mode 0600.
s3_conf() {
	mkdir -p "$(dirname "$1")" &&
		printf 's3-endpoint = %s\ns3-region = %s\ns3-access-key = %s\ns3-secret-key = %s\ns3-uri-style = path\n' \
			"$S3_ENDPOINT" "$S3_REGION" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$1" &&
		chmod 0600 "$1"
}

# fx_s3_suite: what an s3 test starts with (after sourcing tap.sh,
# fixture.sh and this file): the store up, bucket 'backups' (a test),
# an ext4 source on a loop mirror, populated, and its config.
fx_s3_suite() {
	fx_init
	fx_ceph_up
	fx_setup ext4 512M
	fx_populate "$SRC"
	ok "bucket 'backups' created" s3_mb backups
	CONF=$SCRATCH/etc/mbackup.conf
	s3_conf "$CONF" || bail_out "unable to write '$CONF'"
	C=(--config "$CONF")
}
