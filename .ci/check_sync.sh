#!/usr/bin/env bash
# Fails when a notebook is not clean, the library is out of sync with the notebooks, or README.md
# is out of date with nbs/index.ipynb: runs the generators, then demands an unchanged work tree
# (untracked files included). Run from the repository root with the dev tools on PATH.
set -euo pipefail
python tools/check_import_cells.py   # nbdev's docs step runs import cells alone: they must hold only imports
nbdev_clean
nbdev_export
python tools/make_readme.py >/dev/null
changes=$(git status --porcelain --untracked-files=all)
if [ -n "$changes" ]; then
  echo "check_sync: notebooks, library and README disagree (or a notebook is not clean). After nbdev_clean," >&2
  echo "nbdev_export and tools/make_readme.py these files differ from what is committed:" >&2
  echo "$changes" >&2
  git --no-pager diff --stat >&2 || true
  exit 1
fi
echo "check_sync: notebooks clean; library and README in sync"
