"""Deterministic benchmark data shared by both workload scripts (stdlib only).

Both implementations must build the *same* protocol, so the names, strings and
sample order live here. The workload: 4 instructions, 2 input lines each plus a
response line, 2 finals per instruction, 8-word strings, 10 context lines and
one guardrail on the user's line of every instruction.
"""

from __future__ import annotations

import json
import resource
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Tuple

WORDS = (
    "apple bright candle dancing eager forest gentle hollow ivory jolly kettle lantern meadow nimble orchard "
    "pebble quiet ripple silver tender umbrella velvet willow yonder zephyr amber breeze cobble dusky ember "
    "feather glimmer harbor island jasmine kindle lagoon marble nectar ocean prism quartz raven saffron thistle "
    "tulip violet walnut maple cedar birch heron falcon otter badger puzzle riddle teacup saucer clock mirror comet lily spoon"
).split()
assert len(WORDS) == 64

PROTOCOL_NAME = "bench"
INSTRUCTIONS = ("tea_party", "croquet", "riddles", "garden")
SCENES = ("Forest", "Castle", "River", "Garden")
SPEAKERS = ("Hatter", "Rabbit", "Queen", "Dormouse")
FINALS = (("Agree", "Refuse"), ("Wonder", "Laugh"), ("Frown", "Shrug"), ("Nod", "Wave"))
NARRATOR = "Narrator"
VISITOR = "Visitor"  # the user's line: a UserToken in ours, a plain Token in the reference
GUARDRAIL = (
    "A question about the tea party, eight words or so",
    "Anything unrelated to Wonderland or its inhabitants",
    "I only talk about Wonderland, my dear.",
)
GUARDRAIL_SAMPLES = (
    "What is the stock price of a tech company today",
    "Write me some code that sorts a list quickly",
    "Who won the football match last weekend in town",
    "Explain quantum computing to me like I am five",
)
CONTEXT = tuple(
    f"Context line {i}: the tea party in Wonderland never ends and everyone is always late." for i in range(10)
)


def sentence(k: int) -> str:
    """The k-th 8-word string: four base-64 digits of k, then four mixed words (unique for k < 64**4)."""
    w = WORDS
    return " ".join(
        (
            w[k & 63],
            w[(k >> 6) & 63],
            w[(k >> 12) & 63],
            w[(k >> 18) & 63],
            w[(k * 7 + 3) & 63],
            w[(k * 13 + 5) & 63],
            w[(k * 31 + 11) & 63],
            w[(k * 61 + 17) & 63],
        )
    )


def samples(n: int) -> Iterator[Tuple[int, int, str, str, str]]:
    """``n`` samples as (instruction index, final index, scene line, user line, response), round-robin.

    A generator, so the strings live only in the protocol that stores them.
    """
    for s in range(n):
        k = 3 * s
        yield s % 4, (s // 4) % 2, sentence(k), sentence(k + 1), sentence(k + 2)


class Phases:
    """Wall and CPU seconds of the named phases of one workload process, and its RESULT.json.

    Shared by work_ours.py and work_ref.py, so both sides are measured the same way.
    """

    def __init__(self) -> None:
        self.wall: Dict[str, float] = {}
        self.cpu: Dict[str, float] = {}
        self.info: Dict[str, object] = {}
        self.start = time.perf_counter()

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall[name], self.cpu[name] = time.perf_counter() - wall, time.process_time() - cpu

    def write(self, result_path: Path) -> None:
        """Phases, total wall time, info and this process's peak RSS, as RESULT.json."""
        self.wall["total"] = time.perf_counter() - self.start
        rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result_path.write_text(json.dumps({"phases": self.wall, "cpu": self.cpu, "info": self.info,
                                           "self_peak_rss_kib": rss_kib}))
