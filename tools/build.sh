#!/usr/bin/env bash
# Builds the real binaries a tools module pins (tools/<module>/binaries) into a versioned cache
# outside the clone, so later runs on the same machine reuse them. Go is build tooling only.
#
#   tools/build.sh kube         build (or reuse) kube-apiserver, kubectl, etcd, kube-scheduler and
#                               kube-controller-manager; print the directory
#   tools/build.sh kube --path  print the directory only, build nothing (exit 1 when not built)
#   tools/build.sh kwok         kwok, plus the Stage files it runs with (tools/kwok/files: copied
#                               from the pinned module into <directory>/stages, never kept in the repo)
#
# The directory is <cache>/<module>-<hash of go.mod, go.sum, binaries and the Go version>; a stamp
# file written last marks a complete build, so an interrupted build is redone, never trusted.
set -euo pipefail

module=${1:?usage: tools/build.sh <module> [--path]}
mode=${2:-build}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src="$here/$module"
[ -f "$src/go.mod" ] || { echo "tools/build.sh: no tools module '$module' under $here" >&2; exit 2; }

# envtest convention: binaries a user already has win over ours (kube-apiserver, etcd, kubectl).
if [ "$module" = "kube" ] && [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for b in kube-apiserver etcd kubectl; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || { echo "tools/build.sh: KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $b" >&2; exit 1; }
  done
  echo "$KUBEBUILDER_ASSETS"; exit 0
fi

cache_root=${WRC_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/worker-runtime-controller}
command -v go >/dev/null || { echo "tools/build.sh: Go is needed to build the $module tools (install Go 1.26, or set KUBEBUILDER_ASSETS)" >&2; exit 1; }
gover=$(go env GOVERSION)
extra="$src/ldflags" # optional: extra -ldflags lines for this module (version stamps)
files="$src/files"   # optional: files copied out of a pinned module (<module> <path in it> <target dir>)
key=$(cat "$src/go.mod" "$src/go.sum" "$src/binaries" $( [ -f "$extra" ] && echo "$extra" ) $( [ -f "$files" ] && echo "$files" ) | { cat; echo "$gover"; } | sha256sum | cut -c1-16)
out="$cache_root/$module-$key"
stamp="$out/.complete"

if [ "$mode" = "--path" ]; then
  [ -f "$stamp" ] || { echo "tools/build.sh: $module tools are not built yet (run: tools/build.sh $module)" >&2; exit 1; }
  echo "$out"; exit 0
fi

if [ -f "$stamp" ]; then
  echo "$out"; exit 0
fi

mkdir -p "$out"
# Version stamping so /version and client version checks see a real release (docs/local-cluster.md).
ldflags="-s -w"
kver=$(cd "$src" && go list -m -f '{{.Version}}' k8s.io/kubernetes 2>/dev/null || true)
if [ -n "$kver" ]; then
  minor=$(echo "$kver" | cut -d. -f2)
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$kver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
fi

[ -f "$extra" ] && ldflags="$ldflags $(grep -v '^#' "$extra" | tr '\n' ' ')"

start=$(date +%s)
grep -v '^#' "$src/binaries" | while read -r name pkg; do
  [ -n "$name" ] || continue
  echo "tools/build.sh: building $name ($pkg) — a cold build takes minutes" >&2
  t0=$(date +%s)
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
  echo "tools/build.sh: built $name in $(( $(date +%s) - t0 ))s" >&2
done
if [ -f "$files" ]; then
  grep -v '^#' "$files" | while read -r gomod path target; do
    [ -n "$gomod" ] || continue
    dir=$(cd "$src" && go list -m -f '{{.Dir}}' "$gomod")
    [ -f "$dir/$path" ] || { echo "tools/build.sh: $gomod has no file $path" >&2; exit 1; }
    mkdir -p "$out/$target"
    # The module cache is read-only; the copy is the tool directory's own, readable by everyone.
    install -m 0644 "$dir/$path" "$out/$target/$(basename "$path")"
  done
fi
echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - start ))s with $gover" > "$stamp"
echo "tools/build.sh: $module tools ready in $(( $(date +%s) - start ))s" >&2
echo "$out"
