"""The log writer gathers lines written inside an event loop and writes them together, in order, soon after."""

from __future__ import annotations

import asyncio
import io

from hydralite.ops import logs


def test_lines_written_in_a_loop_come_out_together_in_order_within_the_flush_delay():
    out = io.StringIO()
    writer = logs.LineWriter(out)

    async def burst() -> tuple[str, str]:
        for n in range(3):
            writer.write(f"line {n}")
        before = out.getvalue()
        await asyncio.sleep(logs.FLUSH_DELAY * 5)
        return before, out.getvalue()

    before, after = asyncio.run(burst())
    assert before == ""
    assert after == "line 0\nline 1\nline 2\n"


def test_a_line_left_by_a_loop_that_ended_is_written_by_the_next_loop_and_outside_any_loop():
    out = io.StringIO()
    writer = logs.LineWriter(out)

    async def write(line: str) -> None:
        writer.write(line)

    asyncio.run(write("first"))  # the loop ends before its flush is due
    assert out.getvalue() == ""

    async def write_and_wait(line: str) -> None:
        writer.write(line)
        await asyncio.sleep(logs.FLUSH_DELAY * 5)

    asyncio.run(write_and_wait("second"))
    assert out.getvalue() == "first\nsecond\n"
    asyncio.run(write("third"))
    writer.write("fourth")  # no loop: everything gathered so far, then this line, at once
    assert out.getvalue() == "first\nsecond\nthird\nfourth\n"
