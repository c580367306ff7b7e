"""The agent CLI versions the live tests run against (the version matrix).

Keep in step with tests/agents/install_clis.sh, which installs each one side by side.
"""

CLAUDE_CODE_VERSIONS = ("2.1.197", "2.1.332")  # 2.1.332: the newest on npm on 2026-12-03
CODEX_VERSION = "0.171.0"
AIDER_VERSION = "0.86.2"
