"""A screen update timer that draws a frame as soon as the frame-rate cap allows.

Textual's screen update timer ticks on a fixed 60 fps grid and, after a tick that came late
(the timer sleeps while nothing needs drawing), jumps to the grid point after next: a key
pressed just after a frame waited 17–33 ms for the frame showing it, with the loop idle (the
`keys` bench traced most of its 25–40 ms presses on an idle dashboard to this). `FrameTimer`
keeps the cap (at most one frame per interval) and otherwise ticks as soon as it is resumed;
for a moment after a key press or a click (`prompt`) it does not wait for the cap at all.
"""

from __future__ import annotations

import math
from typing import Final

from textual import _time
from textual.timer import EventTargetGone, Timer

PROMPT_SECONDS: Final = 0.05
"""How long after input frames skip the cap: a key's frame may follow another that just drew."""


class FrameTimer(Timer):
    """Ticks when resumed, no sooner than `interval` after its previous tick unless prompted."""

    _uncapped_until = -math.inf

    def prompt(self) -> None:
        """Input arrived: draw the frames that show it without waiting for the cap."""
        self._uncapped_until = _time.get_time() + PROMPT_SECONDS

    async def _run(self) -> None:
        last_tick = -math.inf
        while True:
            await self._active.wait()  # paused until something needs drawing
            now = _time.get_time()
            wait = last_tick + self._interval - now
            if wait > 0 and now >= self._uncapped_until:
                await _time.sleep(wait)
            self._reset = False  # no grid to restart
            last_tick = _time.get_time()
            try:
                await self._tick(next_timer=last_tick, count=0)
            except EventTargetGone:
                break
