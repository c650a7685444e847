#!/bin/bash
# The round trip of 10-roundtrip-ext4.t on an xfs source filesystem.
FSTYPE=xfs exec "$(dirname "$0")/10-roundtrip-ext4.t"
