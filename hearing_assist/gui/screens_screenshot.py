"""Render the fitting and amplification screens with a moderate sloping loss to PNG (docs and visual checks).

Usage::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" python -m hearing_assist.gui.screens_screenshot OUTDIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from hearing_assist.dsp.audiogram import Audiogram
from hearing_assist.profiles.amplification import AmplificationProfile

SIZE = (1360, 860)


def example_profile() -> AmplificationProfile:
    """A typical age-related, moderate sloping loss; the left ear a little better in the lows."""
    right = {250: 20, 500: 25, 1000: 35, 2000: 50, 4000: 60, 8000: 65}
    left = {250: 15, 500: 20, 1000: 30, 2000: 45, 3000: 55, 4000: 60, 8000: 70}
    return AmplificationProfile(Audiogram.from_thresholds(left, right))


def main(argv: list[str]) -> int:
    """Save OUTDIR/fitting_screen.png, fitting_screen_locked.png and amplification_screen.png."""
    from dataclasses import replace

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from hearing_assist.gui.amplification_screen import AmplificationScreen
    from hearing_assist.gui.fitting_screen import FittingScreen
    from hearing_assist.profiles.amplification import hash_pin

    out = Path(argv[0] if argv else "screens")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    profile = example_profile()
    fitting = FittingScreen(profile)
    fitting.setWindowTitle("Hearing Assist — Fitting")
    fitting.resize(*SIZE)
    fitting.show()
    locked = FittingScreen(replace(profile, pin=hash_pin("2468")))  # as the audiologist finds it next visit
    locked.resize(*SIZE)
    locked.show()
    caregiver = AmplificationScreen(profile)
    caregiver.setWindowTitle("Hearing Assist — Amplification")
    caregiver.resize(1100, 760)
    caregiver.show()
    caregiver.set_tone("high", 3)
    caregiver.volume_slider.setValue(10)  # beyond the audiologist's +6 dB: snaps back and shows the note
    caregiver.set_limiter_reduction_db(3.2)
    fitting.start_verify()

    def shoot():
        if fitting.verifying:  # the measurement runs on a worker thread; wait for its table
            QTimer.singleShot(200, shoot)
            return
        fitting.grab().save(str(out / "fitting_screen.png"))
        locked.grab().save(str(out / "fitting_screen_locked.png"))
        caregiver.grab().save(str(out / "amplification_screen.png"))
        app.quit()

    QTimer.singleShot(500, shoot)
    app.exec()
    for name in ("fitting_screen.png", "fitting_screen_locked.png", "amplification_screen.png"):
        print(f"saved {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
