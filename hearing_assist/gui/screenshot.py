"""Save a screenshot of the main window while it listens to a file (for docs and visual checks).

Usage: ``xvfb-run -a python -m hearing_assist.gui.screenshot AUDIO OUT.png [seconds]``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    """Open the window on ``argv[0]``, listen for a few seconds, save ``argv[1]``."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from hearing_assist.gui.main_window import MainWindow
    from hearing_assist.pipeline.engine import NO_OUTPUT
    from hearing_assist.profiles.user import ProfileStore

    audio, out = argv[0], Path(argv[1])
    seconds = float(argv[2]) if len(argv) > 2 else 4.0
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(store=ProfileStore(Path(tmp)))
        window.set_file_source(audio)
        window.output_combo.setCurrentIndex(window.output_combo.findData(NO_OUTPUT))
        window.show()
        window.toggle_listening()

        def shoot():
            window.grab().save(str(out))
            window.close()
            app.quit()

        QTimer.singleShot(int(seconds * 1000), shoot)
        app.exec()
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
