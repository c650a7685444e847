# tests/vm/lvm-lib.sh - LVM helpers shared by the guest suites
# (tests/vm/lvm-suite.sh, tests/vm/pg-suite.sh).  Sourced (bash); every
# helper works on the volume group named by $VG.
#   now_ms              milliseconds since the epoch
#   lvfield LV FIELD    one lvs field of LV, trimmed
#   split_images LV     the visible LV_rimage_N (a split image), or nothing
#   legs LV             LV's leg count (hidden and visible images)

now_ms() { echo $(($(date +%s%N) / 1000000)); }

lvfield() { lvs --noheadings -o "$2" "$VG/$1" 2>/dev/null | tr -d ' '; }

split_images() { lvs --noheadings -o lv_name "$VG" | tr -d ' ' | grep "^$1_rimage_" || true; }

legs() { lvs -a --noheadings -o lv_name "$VG" | tr -d ' []' | grep -c "^$1_rimage_[0-9]*$"; }
