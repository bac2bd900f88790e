#!/bin/sh
# Installs shoal from a release: picks this machine's platform, fetches the
# archive and SHA256SUMS from a base URL or a local directory, refuses to go
# on unless the archive's SHA-256 matches SHA256SUMS, and installs the binary
# to <prefix>/bin. POSIX sh; needs curl or wget for URLs, tar (or unzip on
# Windows) and sha256sum, shasum or openssl.
#
#   curl -fsSL https://…/install.sh | sh -s -- --from https://…/releases/download/v0.1.0
#   sh install.sh --from ./dist/release --prefix "$HOME/.local"
set -eu

# The release workflow sets this to the release's download URL in the copy it publishes.
DEFAULT_FROM=""

usage() {
  cat <<'EOF'
Usage: install.sh [--from URL|DIR] [--prefix DIR] [--platform OS-ARCH] [--version V]

  --from URL|DIR      where the archives and SHA256SUMS are: an http(s) URL or a
                      local directory (e.g. dist/release after npm run release)
  --prefix DIR        install to DIR/bin (default /usr/local if writable, else ~/.local)
  --platform OS-ARCH  linux-x64, linux-arm64, darwin-x64, darwin-arm64 or windows-x64
                      (default: this machine)
  --version V         pick shoal-V-<platform> when SHA256SUMS lists several versions
  -h, --help          this text

The archive is installed only if its SHA-256 equals its line in SHA256SUMS.
Exit status: 0 installed, 1 failed (download, checksum, extract), 2 bad usage.
EOF
}

die() { printf 'install.sh: %s\n' "$1" >&2; exit "${2:-1}"; }

FROM=$DEFAULT_FROM PREFIX="" PLATFORM="" VERSION=""
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --from|--prefix|--platform|--version)
      [ $# -ge 2 ] || die "$1 needs a value (see --help)" 2
      case $1 in
        --from) FROM=$2 ;; --prefix) PREFIX=$2 ;; --platform) PLATFORM=$2 ;; --version) VERSION=$2 ;;
      esac
      shift 2 ;;
    *) die "unknown argument '$1' (see --help)" 2 ;;
  esac
done
[ -n "$FROM" ] || die "say where the release is: --from <URL or directory> (see --help)" 2

if [ -z "$PLATFORM" ]; then
  case $(uname -s) in
    Linux) os=linux ;; Darwin) os=darwin ;;
    MINGW*|MSYS*|CYGWIN*) os=windows ;;
    *) die "no shoal build for OS '$(uname -s)'; pass --platform" ;;
  esac
  case $(uname -m) in
    x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;;
    *) die "no shoal build for CPU '$(uname -m)'; pass --platform" ;;
  esac
  PLATFORM="$os-$arch"
fi
case $PLATFORM in
  linux-x64|linux-arm64|darwin-x64|darwin-arm64) ext=tar.gz bin=shoal ;;
  windows-x64) ext=zip bin=shoal.exe ;;
  *) die "unknown platform '$PLATFORM': linux-x64, linux-arm64, darwin-x64, darwin-arm64 or windows-x64" 2 ;;
esac

if [ -z "$PREFIX" ]; then
  if [ -w /usr/local ] || { [ ! -e /usr/local/bin ] && [ "$(id -u)" = 0 ]; }; then PREFIX=/usr/local; else PREFIX="$HOME/.local"; fi
fi

TMP=$(mktemp -d 2>/dev/null || mktemp -d -t shoal-install)
trap 'rm -rf "$TMP"' EXIT INT TERM

# fetch NAME: copies or downloads $FROM/NAME to $TMP/NAME.
fetch() {
  case $FROM in
    http://*|https://*)
      url="${FROM%/}/$1"
      if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 2 -o "$TMP/$1" "$url" || die "could not download $url"
      elif command -v wget >/dev/null 2>&1; then wget -q -O "$TMP/$1" "$url" || die "could not download $url"
      else die "downloading needs curl or wget"; fi ;;
    file://*) cp "${FROM#file://}/$1" "$TMP/$1" 2>/dev/null || die "no $1 in ${FROM#file://}" ;;
    *) [ -f "$FROM/$1" ] || die "no $1 in $FROM"; cp "$FROM/$1" "$TMP/$1" ;;
  esac
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
  elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 "$1" | sed 's/^.*= *//'
  else die "checking the archive needs sha256sum, shasum or openssl"; fi
}

echo "shoal: $PLATFORM from $FROM"
fetch SHA256SUMS
# the line for this platform (and version, if given): "<sha256>  shoal-<version>-<platform>.<ext>"
pattern="shoal-${VERSION:-[0-9][0-9A-Za-z.+-]*}-$PLATFORM\\.$(printf '%s' "$ext" | sed 's/\./\\./g')\$"
line=$(grep -E "^[0-9a-f]{64} [ *]$pattern" "$TMP/SHA256SUMS" | tail -n 1 || true)
[ -n "$line" ] || die "SHA256SUMS from $FROM lists no shoal${VERSION:+ $VERSION} archive for $PLATFORM"
expected=$(printf '%s\n' "$line" | cut -d' ' -f1)
archive=$(printf '%s\n' "$line" | sed 's/^[0-9a-f]* [ *]//')

echo "shoal: fetching $archive"
fetch "$archive"
actual=$(sha256 "$TMP/$archive")
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $archive: SHA256SUMS says $expected, the file has $actual. Refusing to install (a damaged or tampered download)."
fi
echo "shoal: checksum OK ($expected)"

mkdir "$TMP/x"
case $ext in
  tar.gz) tar -xzf "$TMP/$archive" -C "$TMP/x" || die "could not extract $archive" ;;
  zip) command -v unzip >/dev/null 2>&1 || die "extracting $archive needs unzip"
       unzip -q "$TMP/$archive" -d "$TMP/x" || die "could not extract $archive" ;;
esac
src="$TMP/x/${archive%.$ext}/$bin"
[ -f "$src" ] || die "$archive holds no ${archive%.$ext}/$bin"

mkdir -p "$PREFIX/bin" || die "cannot create $PREFIX/bin (try --prefix \$HOME/.local)"
# copy beside the target, then rename: a running shoal keeps its old binary, no half-written file is ever at the target
cp "$src" "$PREFIX/bin/.$bin.new" || die "cannot write to $PREFIX/bin (try --prefix \$HOME/.local)"
chmod 755 "$PREFIX/bin/.$bin.new"
mv -f "$PREFIX/bin/.$bin.new" "$PREFIX/bin/$bin"
echo "shoal: installed $PREFIX/bin/$bin"
case :$PATH: in *":$PREFIX/bin:"*) ;; *) echo "shoal: $PREFIX/bin is not on PATH; add it, or run $PREFIX/bin/$bin" ;; esac
