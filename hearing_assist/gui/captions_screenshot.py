"""Render the caption view (each theme, scrolled-up state, confidence shading) and the strip to PNGs for review.

Usage::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" python -m hearing_assist.gui.captions_screenshot OUTDIR
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hearing_assist.asr.captions import CaptionModel, CaptionSnapshot
from hearing_assist.asr.transcript import CaptionUpdate, Word

# A short doctor's-appointment exchange: the kind of conversation the app is for.
SCRIPT = (
    "Good morning, Mrs. Patel. Please take a seat.",
    "How have you been sleeping since we changed the tablets?",
    "A little better, but I still wake up around four.",
    "That is quite common in the first two weeks.",
    "Let us keep the same dose and check again in a month.",
)
TENTATIVE = "I will print the new prescription"
UNSURE = {"tablets?": 0.35, "four.": 0.42}  # low-confidence words, to show shading


class DemoSpeaker:
    """Feeds the demo conversation into a real CaptionModel, as the live recognizer would."""

    def __init__(self):
        self.model = CaptionModel()
        self.t = 0.0

    def words(self, text: str) -> tuple[Word, ...]:
        """Timed words with a pause after them; a few are marked unsure."""
        out = []
        for w in text.split():
            out.append(Word(w, self.t, self.t + 0.3, UNSURE.get(w, 0.93)))
            self.t += 0.38
        self.t += 0.6
        return tuple(out)

    def say(self, text: str, tentative: str = "") -> CaptionSnapshot:
        """Commit ``text`` and show ``tentative`` as the not-yet-final tail."""
        return self.model.apply(CaptionUpdate(self.words(text), self.words(tentative) if tentative else ()))


def demo_snapshot(extra_lines: int = 0, speaker: DemoSpeaker | None = None) -> CaptionSnapshot:
    """A realistic snapshot: committed sentences (optionally preceded by filler history) and a tentative tail."""
    sp = speaker or DemoSpeaker()
    for i in range(extra_lines):
        sp.say(f"Earlier in the visit, remark number {i + 1} was made.")
    for line in SCRIPT:
        sp.say(line)
    return sp.say("", TENTATIVE)


def main(argv: list[str]) -> int:
    """Write view_<theme>.png, view_scrolled_up.png, view_shading.png and strip.png into ``argv[0]``."""
    from PySide6.QtWidgets import QApplication

    from hearing_assist.gui.caption_strip import CaptionStrip
    from hearing_assist.gui.caption_view import THEMES, CaptionStyle, CaptionView

    out = Path(argv[0] if argv else "captions-screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    snap = demo_snapshot()

    def settle() -> None:
        for _ in range(5):
            app.processEvents()

    saved = []
    for theme in THEMES:
        view = CaptionView(CaptionStyle(font_pt=32, theme=theme, lines=4))
        view.show()
        view.set_snapshot(snap)
        view.resize(1280, view.sizeHint().height())
        settle()
        path = out / f"view_{theme}.png"
        view.grab().save(str(path))
        saved.append(path)
        view.close()

    view = CaptionView(CaptionStyle(font_pt=32, theme="dark", lines=4))
    view.resize(1280, 300)
    view.show()
    sp = DemoSpeaker()
    view.set_snapshot(demo_snapshot(extra_lines=12, speaker=sp))
    settle()
    sb = view.text.verticalScrollBar()
    sb.setValue(sb.maximum() // 2)  # the reader scrolled up to re-read; then more captions arrive
    view.set_snapshot(sp.say("Do you have any questions for me?", "Only one about"))
    settle()
    path = out / "view_scrolled_up.png"
    view.grab().save(str(path))
    saved.append(path)
    view.close()

    view = CaptionView(CaptionStyle(font_pt=32, theme="light", lines=4, confidence_shading=True))
    view.show()
    view.set_snapshot(snap)
    view.resize(1280, view.sizeHint().height())
    settle()
    path = out / "view_shading.png"
    view.grab().save(str(path))
    saved.append(path)
    view.close()

    view = CaptionView(CaptionStyle(font_pt=48, theme="yellow-on-black", lines=4))
    view.set_snapshot(snap)
    view.show()
    settle()
    view.set_full_screen(True)
    screen = view.screen().geometry().size()
    for _ in range(100):  # the window system resizes asynchronously
        settle()
        if view.size() == screen:
            break
        time.sleep(0.02)
    if view.size() != screen:  # no window manager under plain Xvfb: size it ourselves
        view.setGeometry(view.screen().geometry())
    settle()
    path = out / "view_full_screen.png"
    view.grab().save(str(path))
    saved.append(path)
    view.close()

    for theme in ("dark", "yellow-on-black"):
        strip = CaptionStrip(CaptionStyle(font_pt=28, theme=theme))
        strip.resize(1100, strip.height())
        strip.show()
        strip.set_snapshot(snap)
        settle()
        path = out / f"strip_{theme}.png"
        strip.grab().save(str(path))
        saved.append(path)
        strip.close()

    for p in saved:
        print(f"saved {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
