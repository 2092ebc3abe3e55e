#!/usr/bin/env bash
# The bundle, only when judge.sh said so (s10/hypothesis.txt): s8/bundle.patch applied (the bundled
# directory, the judged temperatures top 1 and upsamplers 0.2, every `tony jukebox` command defaulting to
# models/jukebox, the studio's listing, test/models/jukebox/bundled.test.ts), the six models exported as
# float16 into models/jukebox (session 8, 6: float16 moves no score by more than 3e-5 nats/code), the
# README's size filled in, then the bundled tests.
#   RUNS=/work/juke/runs/s10 LOGS=docs/results/jukebox/s10 docs/results/jukebox/s10/bundle.sh
set -euo pipefail
: "${RUNS:?}" "${LOGS:?}"
cd "$(dirname "$0")/../../../.."
grep -q '^verdict: BUNDLE' "$LOGS/judge.log" || { echo "bundle.sh: $LOGS/judge.log does not say BUNDLE; nothing is bundled" >&2; exit 1; }
git apply docs/results/jukebox/s8/bundle.patch
for m in bottom middle top prior-top prior-middle prior-bottom; do
  node bin/tony.js export --run "$(realpath "$RUNS/models/$m")" --out "models/jukebox/$m" --dtype float16
done
mb=$(du -sb models/jukebox | awk '{ printf "%.2f", $1 / 1e6 }')
awk -v mb="$mb" 'BEGIN { exit !(mb <= 25) }' || { echo "bundle.sh: models/jukebox is $mb MB, over the issue's 25" >&2; exit 1; }
sed -i "s/__MB__/$mb/; s/__T__/1/" README.md
# The patch was written in session 8 and names it; these models are session 10's.
sed -i -e 's/jukebox\.md, session 8)/jukebox.md, session 10)/g' -e 's/"session 8", made and judged it/"session 10", made and judged it/g' \
  $(git apply --numstat docs/results/jukebox/s8/bundle.patch | cut -f3)
echo "models/jukebox: $mb MB"
npx vitest run test/models/jukebox/bundled.test.ts test/studio/jukebox.test.ts
