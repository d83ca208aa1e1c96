#!/usr/bin/env bash
# Man-page lint (make man-lint): mandoc's linter, and groff, which man(1)
# uses on Linux and which knows other things (e.g. the .Fx versions).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/apt-install.sh mandoc groff-base
