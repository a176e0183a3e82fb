#!/bin/bash
# caa_quorum_dns: runs test_caa_quorum against several DNS perspectives on loopback (honest,
# forging, validly signed lie, dead): see perspectives_setup.sh.
PERSP_TEST_NAME=caa-quorum
. "$(cd "$(dirname "$0")" && pwd)/perspectives_setup.sh"
${TEST_WRAPPER:-} ./test_caa_quorum
