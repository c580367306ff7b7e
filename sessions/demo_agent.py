"""A small stand-in for an AI coding agent, for the quick start and the tests.

It prints what a real agent run looks like — colours, progress, a traceback, warnings, metrics,
a fenced code block, a test summary — and asks one question, so streamtap has something of each
kind to find. Run it as ``python -m sessions.demo_agent [--fast] [--no-prompt]``.
"""

from __future__ import annotations

import argparse
import select
import sys
import time

BOLD, DIM, RED, GREEN, YELLOW, CYAN, RESET = (
    "\x1b[1m",
    "\x1b[2m",
    "\x1b[31m",
    "\x1b[32m",
    "\x1b[33m",
    "\x1b[36m",
    "\x1b[0m",
)

SCRIPT = [
    f"{BOLD}demo-agent{RESET} v0.3.1 · model demo-large · workspace ./shop",
    f"{CYAN}›{RESET} Task: fix the failing test in tests/test_cart.py",
    f"{DIM}Reading tests/test_cart.py, cart/models.py …{RESET}",
    "$ pytest -x tests/test_cart.py",
    "============================= test session starts ==============================",
    "collected 12 items",
    "",
    "tests/test_cart.py ......F",
    "",
    "Traceback (most recent call last):",
    '  File "/work/shop/tests/test_cart.py", line 41, in test_total_with_discount',
    '    assert cart.total() == Decimal("90.00")',
    '  File "/work/shop/cart/models.py", line 27, in total',
    "    return sum(item.price for item in self.items) * (1 - self.discount)",
    "TypeError: unsupported operand type(s) for -: 'int' and 'NoneType'",
    "FAILED tests/test_cart.py::test_total_with_discount - TypeError",
    f"{RED}========================= 1 failed, 6 passed in 0.42s ========================={RESET}",
    "",
    "/work/shop/cart/models.py:8: DeprecationWarning: 'cgi' is deprecated and slated for removal",
    f"{YELLOW}WARNING: discount is None for 3 carts; treating it as 0{RESET}",
    "",
    "The discount can be None. Here is the fix:",
    "",
    "```python",
    "def total(self) -> Decimal:",
    "    discount = self.discount or Decimal(0)",
    "    return sum(item.price for item in self.items) * (1 - discount)",
    "```",
    "",
    "Applying patch to cart/models.py … done",
    "$ pytest -q",
    "............",
    f"{GREEN}12 passed in 0.38s{RESET}",
    "epoch=1 loss=0.412 accuracy=0.871",
    "epoch=2 loss=0.305 accuracy=0.902",
    "epoch=3 loss=0.231 accuracy=0.934",
    "Tokens used: 12,480",
]


def ask(question: str, timeout: float) -> str:
    sys.stdout.write(question)
    sys.stdout.flush()
    try:
        ready, _, _ = select.select([sys.stdin], [], [], timeout)
    except (OSError, ValueError):
        ready = []
    if not ready:
        sys.stdout.write("\n(no answer; assuming no)\n")
        return "n"
    answer = sys.stdin.readline()
    if not answer:
        # Nobody can answer (stdin is closed or /dev/null, e.g. `make run` from a script): wait
        # a moment anyway, as a real program would, so the question shows as a prompt.
        time.sleep(min(1.0, timeout))
        sys.stdout.write("\n(no one to answer; assuming no)\n")
        return "n"
    return answer.strip().lower() or "n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fast", action="store_true", help="no pauses between lines")
    parser.add_argument("--no-prompt", action="store_true", help="do not ask anything")
    # Five minutes: time to open the dashboard, log in and answer from the browser.
    parser.add_argument("--prompt-timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    delay = 0.0 if args.fast else 0.08
    for line in SCRIPT:
        print(line, flush=True)
        if delay:
            time.sleep(delay)
    if not args.no_prompt:
        answer = ask(
            "Commit the fix with `git commit -am 'fix discount'`? [y/N] ", args.prompt_timeout
        )
        print("Committed." if answer.startswith("y") else "Left the change uncommitted.")
    print(f"{BOLD}Done.{RESET} 1 file changed, 2 insertions(+), 1 deletion(-)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
