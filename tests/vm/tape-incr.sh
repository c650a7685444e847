# tests/vm/tape-incr.sh - block increments on tape, sourced at the end of
# tests/vm/tape-suite.sh inside the guest (its drives, B, load, new_tape,
# last_id and the fixture): a full and an incremental appended after it on
# one tape; restore --backup through the chain from the catalog's media
# (each link found on the tape by its backup id) and from one --from
# tape:DEV, --file through it, the increment alone refused, consolidate
# reading its chain off the tape.
new_tape "$TD/incr.img" 256
load 1 "$TD/incr.img"; mt -f $NST rewind
run B
exit_is 0 "increments: a full to a blank tape"
IDI1=$(last_id)
printf 'ON-TAPE' | dd of="$SRC/big.bin" bs=1 seek=$((2 * 1048576 + 7)) conv=notrunc status=none
echo "needle-in-the-increment" >"$SRC/needle.txt"
run B --append --incremental
exit_is 0 "increments: an incremental appended after its full"
IDI2=$(last_id)
like "$RUN_ERR" "incremental on backup $IDI1: [0-9]+ of [0-9]+ entries changed" "it compared with the full on the tape"
cp -a "$SRC" "$SCRATCH/tape-point-$IDI2"
run "$MB" restore --catalog "$CATALOG" --backup "$IDI2" --to "$SCRATCH/ti2"
exit_is 0 "increments: restore --backup through the chain on the tape (the catalog's media)"
like "$RUN_OUT" "through 2 images \(backups $IDI1,$IDI2\)" "both links read off the tape"
fx_tree_is "$SCRATCH/tape-point-$IDI2" "$SCRATCH/ti2" "increments: the point restored from tape is byte-identical"
run "$MB" restore --catalog "$CATALOG" --backup "$IDI2" --from tape:$NST --to "$SCRATCH/ti2f" --file needle.txt --file big.bin
exit_is 0 "increments: --file through the chain with one --from tape:DEV"
is "$(cat "$SCRATCH/ti2f/needle.txt" 2>/dev/null)" "needle-in-the-increment" "the increment's file"
ok "the changed big file is exact" cmp -s "$SRC/big.bin" "$SCRATCH/ti2f/big.bin"
run "$MB" restore --catalog "$SCRATCH/no-catalog.db" --from tape:$NST --backup "$IDI2" --to "$SCRATCH/ti2a"
exit_is 2 "increments: the increment alone from the tape, with no catalog to find its base: usage"
like "$RUN_ERR" "mbackup: error: image 'tape:$NST' is an increment \(backup $IDI2 on backup $IDI1\): alone it restores no state" \
	"it names the base it needs"
nok "nothing written" test -e "$SCRATCH/ti2a"
run "$MB" consolidate --catalog "$CATALOG" --backup "$IDI2" --media "file:$SCRATCH/tape-c.mbi"
exit_is 0 "increments: consolidate reads its chain off the tape"
run "$MB" restore --catalog "$CATALOG" --backup "$IDI2" --to "$SCRATCH/ti2c"
exit_is 0 "increments: the point from its consolidation"
like "$RUN_OUT" "from its consolidation" "from the one whole image"
fx_tree_is "$SCRATCH/tape-point-$IDI2" "$SCRATCH/ti2c" "increments: byte-identical"
