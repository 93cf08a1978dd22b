#!/usr/bin/env bash
# Brings the public API baselines (PublicAPI.Shipped.txt / PublicAPI.Unshipped.txt) up to the code, after a
# deliberate change of a library's public surface; running it again changes nothing.
#
#   scripts/update-public-api.sh                        every project that sets <TrackPublicApi>true</TrackPublicApi>
#   scripts/update-public-api.sh path/to/X.csproj ...   only those, in the order given (a library before its users)
#
# A member in the files and no longer public in the code (RS0017) is taken out: its line goes from
# PublicAPI.Unshipped.txt, or, if it had shipped, a "*REMOVED*" line is added to PublicAPI.Unshipped.txt (the
# analyser's convention). A public member missing from the files (RS0016) is added to PublicAPI.Unshipped.txt by
# the analyser's own code fix through `dotnet format`. Until a release, everything stays in Unshipped; a release
# moves it to Shipped (docs/public-api.md). Review the diff: every line of it is a change a user sees.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -gt 0 ]]; then
  projects=("$@")
else
  # Sorted paths put Iommufd.Core before the samples that reference it.
  mapfile -t projects < <(git ls-files '*.csproj' | xargs grep -l '<TrackPublicApi>true</TrackPublicApi>' | sort)
fi

for project in "${projects[@]}"; do
  dir=$(cd "$(dirname "$project")" && pwd)
  shipped="$dir/PublicAPI.Shipped.txt"
  unshipped="$dir/PublicAPI.Unshipped.txt"
  for file in "$shipped" "$unshipped"; do
    # An empty baseline still declares that the API is tracked with nullable annotations (else RS0037).
    [[ -s "$file" ]] || printf '#nullable enable\n' >"$file"
  done
  echo "update-public-api: $project"

  # RS0017 has no code fix: build, and take the file and line of each from the diagnostics.
  log=$(mktemp)
  dotnet build "$project" -nologo -v q >"$log" 2>&1 || true
  if grep -E ': error ' "$log" | grep -vqE 'error RS001[67]:'; then
    grep -E ': error ' "$log" | grep -vE 'error RS001[67]:' | sort -u >&2
    echo "update-public-api: $project has errors other than RS0016/RS0017; fix them first" >&2
    rm -f "$log"
    exit 1
  fi
  removed=$(sed -n 's/^\(.*PublicAPI\.\(Shipped\|Unshipped\)\.txt\)(\([0-9]*\),[0-9]*): error RS0017: .*/\1 \3/p' "$log" | sort -u)
  rm -f "$log"
  unshipped_lines=()
  while read -r file line; do
    [[ -n "$file" ]] || continue
    if [[ "$file" == "$unshipped" ]]; then
      unshipped_lines+=("$line")
    elif [[ "$file" == "$shipped" ]]; then
      printf '*REMOVED*%s\n' "$(sed -n "${line}p" "$shipped")" >>"$unshipped"
    fi
  done <<<"$removed"
  if [[ ${#unshipped_lines[@]} -gt 0 ]]; then
    sed -i "$(printf '%sd;' "${unshipped_lines[@]}")" "$unshipped"
  fi

  # RS0016: the analyser's code fix writes each new member into PublicAPI.Unshipped.txt.
  dotnet format analyzers "$project" --diagnostics RS0016 --severity warn --verbosity quiet
done
git status --short -- '*PublicAPI.*.txt'
