"""Save screenshots of the main window's tabs while it listens to a file (for docs and visual checks).

Usage: ``xvfb-run -a python -m hearing_assist.gui.screenshot AUDIO OUT_PREFIX [seconds]`` writes
``OUT_PREFIX-captions.png`` and ``OUT_PREFIX-sound.png``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    """Open the window on ``argv[0]``, listen for a few seconds, save one PNG per tab with prefix ``argv[1]``."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from hearing_assist.gui.main_window import MainWindow
    from hearing_assist.pipeline.engine import NO_OUTPUT
    from hearing_assist.profiles.user import ProfileStore

    audio, prefix = argv[0], argv[1]
    seconds = float(argv[2]) if len(argv) > 2 else 4.0
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(store=ProfileStore(Path(tmp)))
        window.set_file_source(audio)
        window.output_combo.setCurrentIndex(window.output_combo.findData(NO_OUTPUT))
        window.show()
        window.toggle_listening()

        def shoot():
            for i in range(window.tabs.count()):
                window.tabs.setCurrentIndex(i)
                app.processEvents()
                path = f"{prefix}-{window.tabs.tabText(i).lower()}.png"
                window.grab().save(path)
                print(f"saved {path}")
            window.close()
            app.quit()

        QTimer.singleShot(int(seconds * 1000), shoot)
        app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
