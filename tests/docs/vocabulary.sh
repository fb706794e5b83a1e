#!/usr/bin/env bash
# tests/docs/vocabulary.sh SOURCE_DIR: one name for the backward signal. It is dL/dh
# (docs/concepts.md, "Notation") in the sources, headers, examples and documents; the
# names it had before, dL/dz (the pre-activation called z) and ||dL/dy|| for its norm,
# must not come back. A layer's own backward still receives `dy` (its output's signal):
# only the norm written ||dL/dy|| and dL/dz are refused.
set -euo pipefail
cd "$1"
if hits=$(grep -rnE 'dL/dz|\|\|dL/dy\|\||‖dL/dy‖' src include examples docs README.md); then
  echo "the backward signal is dL/dh (docs/concepts.md); found another name:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "one name for the backward signal: dL/dh"
