"""Start the Qt application with the main window."""

from __future__ import annotations

import sys


def run(argv: list[str] | None = None, profile: str = "default", file: str | None = None) -> int:
    """Open the main window and run the event loop; returns the exit code."""
    from PySide6.QtWidgets import QApplication

    from hearing_assist.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("Hearing Assist")
    window = MainWindow(profile_name=profile)
    if file:
        window.set_file_source(file)
    window.show()
    return app.exec()
