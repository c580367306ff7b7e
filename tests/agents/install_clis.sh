#!/usr/bin/env bash
# Install the real agent CLIs that tests/agents drives, side by side, one prefix per CLI and
# version, into .cache/agents in the repository (git-ignored). Idempotent: a prefix whose CLI
# answers --version with the pinned version is left alone.
#
#   tests/agents/install_clis.sh                    # the pinned versions (the version matrix)
#   CLAUDE_CODE_VERSIONS="2.1.197 latest" tests/agents/install_clis.sh
#
#   .cache/agents/claude-code-2.1.197/node_modules/.bin/claude    npm @anthropic-ai/claude-code
#   .cache/agents/claude-code-2.1.332/node_modules/.bin/claude
#   .cache/agents/codex-0.171.0/node_modules/.bin/codex            npm @openai/codex
#   .cache/agents/aider-0.86.2/bin/aider                           PyPI aider-chat, its own venv
#
# The npm packages ship their native binaries as optional dependencies: nothing is downloaded
# from anywhere but the npm registry and PyPI. Keep the versions in step with
# tests/agents/versions.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
PREFIX="${STREAMTAP_AGENTS_PREFIX:-$PWD/.cache/agents}"
CLAUDE_CODE_VERSIONS="${CLAUDE_CODE_VERSIONS:-2.1.197 2.1.332}"
CODEX_VERSION="${CODEX_VERSION:-0.171.0}"
AIDER_VERSION="${AIDER_VERSION:-0.86.2}"
# aider 0.86 supports Python 3.10-3.12.
AIDER_PYTHON="${AIDER_PYTHON:-python3}"

command -v npm >/dev/null || { echo "npm is needed (apt-get install nodejs npm)" >&2; exit 1; }
mkdir -p "$PREFIX"

npm_cli() {  # package version binary
  local package=$1 version=$2 binary=$3 dir
  dir="$PREFIX/${package##*/}-$version"
  if "$dir/node_modules/.bin/$binary" --version 2>/dev/null | grep -qF "$version"; then
    return 0
  fi
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --no-save --include=optional \
    "$package@$version"
  # Claude Code's postinstall copies the platform binary over its bin/claude.exe placeholder;
  # an npm that holds back install scripts leaves the placeholder: run it ourselves.
  if [ "$binary" = claude ] && ! "$dir/node_modules/.bin/claude" --version >/dev/null 2>&1; then
    (cd "$dir/node_modules/@anthropic-ai/claude-code" && node install.cjs)
  fi
  "$dir/node_modules/.bin/$binary" --version
}

for version in $CLAUDE_CODE_VERSIONS; do
  npm_cli @anthropic-ai/claude-code "$version" claude
done
npm_cli @openai/codex "$CODEX_VERSION" codex

aider_dir="$PREFIX/aider-$AIDER_VERSION"
if ! "$aider_dir/bin/aider" --version 2>/dev/null | grep -qF "$AIDER_VERSION"; then
  "$AIDER_PYTHON" -m venv "$aider_dir"
  "$aider_dir/bin/pip" install --quiet --disable-pip-version-check "aider-chat==$AIDER_VERSION"
  "$aider_dir/bin/aider" --version
fi
