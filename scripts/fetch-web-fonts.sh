#!/usr/bin/env bash
# Fetch the Korean families of Google Fonts from their npm web-font packages
# (@fontsource/NAME, SIL OFL 1.1) into fonts/web/NAME/ (idempotent).
# Usage: scripts/fetch-web-fonts.sh [DEST [NAME@VERSION WEIGHTS]...]
#   DEST defaults to fonts/web; package specs (e.g. gaegu@5.3.0 400,700) replace the list
#   below. HANGULGAN_NPM_CACHE sets the folder the packages are kept in.
#
# Each package splits a weight into ~120 unicode-range subset files (WOFF and WOFF2).
# We keep the WOFF files (FreeType reads WOFF, not WOFF2) of the subsets whose range
# touches the Hangul syllables U+AC00..U+D7A3; `hangulgan render` reads a folder of such
# subset files as one face. Packages are fetched with `npm pack` at pinned versions into
# a cache folder, so a second run neither downloads nor rewrites anything.
set -euo pipefail

dest="${1:-fonts/web}"
cache="${HANGULGAN_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hangulgan/fontsource}"

# name@version weights. Weight 400 for every family that has it, else the one it has;
# (Sunflower has no 400: 500, the weight CSS falls back to first), and Bold (700) as a second face for a few families whose bold adds stroke-weight variety.
# @fontsource/dokdo is not on the npm registry (checked 2026-11-23), so Dokdo is absent.
PACKAGES=(
  "black-han-sans@5.3.0 400"
  "cute-font@5.2.8 400"
  "east-sea-dokdo@5.3.0 400"
  "gaegu@5.3.0 400,700"
  "gamja-flower@5.3.0 400"
  "gothic-a1@5.3.0 400,700"
  "gowun-batang@5.3.0 400"
  "gowun-dodum@5.3.0 400"
  "gugi@5.3.0 400"
  "hahmlet@5.3.0 400,700"
  "hi-melody@5.3.0 400"
  "ibm-plex-sans-kr@5.3.0 400,700"
  "nanum-brush-script@5.3.0 400"
  "nanum-pen-script@5.3.0 400"
  "noto-serif-kr@5.3.0 400,700"
  "poor-story@5.3.0 400"
  "single-day@5.3.1 400"
  "song-myung@5.2.8 400"
  "stylish@5.3.1 400"
  "sunflower@5.3.1 500,700"
)

if [ $# -gt 1 ]; then
  shift
  [ $(($# % 2)) -eq 0 ] || { echo "usage: $0 [DEST [NAME@VERSION WEIGHTS]...]" >&2; exit 2; }
  PACKAGES=()
  while [ $# -gt 0 ]; do PACKAGES+=("$1 $2"); shift 2; done
fi

mkdir -p "$dest" "$cache"

# extract_korean TARBALL OUTDIR WEIGHTS: the WOFF files of the Hangul subsets of each weight.
extract_korean() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, os, re, shutil, sys, tarfile, tempfile

tarball, outdir, weights = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
FIRST, LAST = 0xAC00, 0xD7A3


def touches_hangul(ranges: str) -> bool:
    for part in ranges.split(","):
        m = re.fullmatch(r"\s*U\+([0-9a-fA-F?]+)(?:-([0-9a-fA-F]+))?\s*", part)
        if not m:
            continue
        lo = int(m.group(1).replace("?", "0"), 16)
        hi = int(m.group(2), 16) if m.group(2) else int(m.group(1).replace("?", "f"), 16)
        if lo <= LAST and hi >= FIRST:
            return True
    return False


with tarfile.open(tarball) as tar:
    def read(name):
        return tar.extractfile(f"package/{name}").read()

    meta = json.loads(read("metadata.json"))
    ranges = json.loads(read("unicode.json"))
    subsets = [key.strip("[]") for key, value in ranges.items() if touches_hangul(value)]
    missing = [w for w in weights if int(w) not in meta["weights"]]
    if missing:
        sys.exit(f"error: {tarball}: no weight {','.join(missing)} (has {meta['weights']})")
    members = {m.name: m for m in tar.getmembers()}
    os.makedirs(outdir, exist_ok=True)
    count = 0
    for weight in weights:
        wdir = os.path.join(outdir, weight)
        tmp = tempfile.mkdtemp(prefix=".tmp-", dir=outdir)
        before = count
        for subset in subsets:
            name = f"package/files/{meta['id']}-{subset}-{weight}-normal.woff"
            if name not in members:
                continue
            with open(os.path.join(tmp, os.path.basename(name)), "wb") as out:
                out.write(tar.extractfile(members[name]).read())
            count += 1
        if count == before:
            sys.exit(f"error: {tarball}: no WOFF file of a Hangul subset for weight {weight}")
        if os.path.isdir(wdir):
            shutil.rmtree(wdir)
        os.rename(tmp, wdir)  # a weight folder appears whole or not at all
    for extra in ("LICENSE", "metadata.json"):
        with open(os.path.join(outdir, extra), "wb") as out:
            out.write(read(extra))
    print(f"{meta['family']}: weights {','.join(weights)}, {count} WOFF subset files, "
          f"licence {meta['license']['type']}")
PY
}

fetched=0
for entry in "${PACKAGES[@]}"; do
  spec="${entry%% *}" weights="${entry##* }"
  name="${spec%@*}" version="${spec#*@}"
  outdir="$dest/$name"
  stamp="$outdir/.fetched"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$spec $weights" ]; then
    continue
  fi
  tarball="$cache/fontsource-$name-$version.tgz"
  if [ ! -s "$tarball" ]; then
    command -v npm >/dev/null || { echo "error: npm not found (install nodejs and npm)" >&2; exit 1; }
    tmpdir="$(mktemp -d "$cache/.pack-XXXXXX")"
    if ! (cd "$tmpdir" && npm pack --silent "@fontsource/$spec" >/dev/null); then
      rm -rf "$tmpdir"
      echo "error: npm pack @fontsource/$spec failed (registry unreachable?)" >&2
      exit 1
    fi
    mv "$tmpdir/fontsource-$name-$version.tgz" "$tarball"
    rm -rf "$tmpdir"
  fi
  rm -rf "$outdir"
  # A failed extraction leaves no folder behind for the render stage to half-read.
  extract_korean "$tarball" "$outdir" "$weights" || { rm -rf "$outdir"; exit 1; }
  echo "$spec $weights" >"$stamp"
  fetched=$((fetched + 1))
done
count=$(find "$dest" -name '*.woff' | wc -l)
echo "$dest: $fetched packages fetched now, $count WOFF files in all"
