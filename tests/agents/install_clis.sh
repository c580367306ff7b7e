#!/usr/bin/env bash
# Install the real agent CLIs that tests/agents/test_real_clis.py drives, from the npm registry,
# into .cache/agents in the repository (git-ignored). Idempotent; ~20 s from a cold npm cache.
#
#   tests/agents/install_clis.sh            # the pinned versions the tests were written against
#   CLAUDE_CODE_VERSION=latest CODEX_VERSION=latest tests/agents/install_clis.sh
#
# Both packages ship their native binaries as npm optional dependencies
# (@anthropic-ai/claude-code-linux-x64, @openai/codex-linux-x64, ...): nothing is downloaded
# from anywhere but the npm registry.
set -euo pipefail
cd "$(dirname "$0")/../.."
PREFIX="${STREAMTAP_AGENTS_PREFIX:-$PWD/.cache/agents}"
CLAUDE_CODE_VERSION="${CLAUDE_CODE_VERSION:-2.1.197}"
CODEX_VERSION="${CODEX_VERSION:-0.171.0}"

command -v npm >/dev/null || { echo "npm is needed (apt-get install nodejs npm)" >&2; exit 1; }
mkdir -p "$PREFIX"
want="@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION @openai/codex@$CODEX_VERSION"
if [ -f "$PREFIX/.installed" ] && [ "$(cat "$PREFIX/.installed")" = "$want" ] \
  && "$PREFIX/node_modules/.bin/claude" --version >/dev/null 2>&1 \
  && "$PREFIX/node_modules/.bin/codex" --version >/dev/null 2>&1; then
  exit 0
fi
# shellcheck disable=SC2086
npm install --prefix "$PREFIX" --no-audit --no-fund --include=optional $want
# Claude Code's postinstall copies the platform binary over its bin/claude.exe placeholder.
# An npm that holds back install scripts leaves the placeholder: run the postinstall ourselves.
if ! "$PREFIX/node_modules/.bin/claude" --version >/dev/null 2>&1; then
  (cd "$PREFIX/node_modules/@anthropic-ai/claude-code" && node install.cjs)
fi
"$PREFIX/node_modules/.bin/claude" --version
"$PREFIX/node_modules/.bin/codex" --version
echo "$want" > "$PREFIX/.installed"
