"""A compact always-on-top caption strip: the last two lines of captions over any other window (videos, calls)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QWidget

from hearing_assist.asr.captions import CaptionSnapshot
from hearing_assist.gui.caption_view import (
    FONT_STEP_PT, THEMES, CaptionFormats, CaptionStyle, CaptionText, caption_font, clamp_style, line_height_px,
    tentative_starts_paragraph, theme_palette,
)

STRIP_LINES = 2
TAIL_LINES = 4  # committed lines re-rendered per update: enough to fill two wrapped lines, cheap to redo


class CaptionStrip(QWidget):
    """Frameless, always-on-top two-line caption window; drag it anywhere, close it with × or Esc."""

    closed = Signal()
    style_changed = Signal()  # Ctrl+= / Ctrl+- on the strip changed the font size

    def __init__(self, style: CaptionStyle | None = None, parent=None):
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint
                         | Qt.WindowType.FramelessWindowHint)
        self.setWindowTitle("Captions")
        self.setAccessibleName("Caption strip")
        self.setAccessibleDescription("The latest captions, always on top; drag to move, Esc or × to close")
        self.setAutoFillBackground(True)
        self._style = clamp_style(style or CaptionStyle())
        self._version: int | None = None
        self._drag_offset: QPoint | None = None

        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 2, 4, 2)
        lay.setSpacing(4)
        self.text = CaptionText()
        self.text.setReadOnly(True)
        self.text.setFrameShape(QFrame.Shape.NoFrame)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        # Mouse presses go to the strip itself, so anywhere on the text drags the window.
        self.text.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for policy in (self.text.setVerticalScrollBarPolicy, self.text.setHorizontalScrollBarPolicy):
            policy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.text.setAccessibleName("Captions")
        lay.addWidget(self.text, 1)

        self.close_button = QPushButton("×")
        self.close_button.setAccessibleName("Close caption strip")
        self.close_button.setAccessibleDescription("Close the always-on-top caption strip")
        self.close_button.setToolTip("Close the caption strip (Esc)")
        self.close_button.setFixedSize(36, 36)
        self.close_button.clicked.connect(self.close)
        lay.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)

        QShortcut(QKeySequence("Esc"), self, self.close)
        QShortcut(QKeySequence("Ctrl+="), self, lambda: self._bump_font(FONT_STEP_PT))
        QShortcut(QKeySequence("Ctrl++"), self, lambda: self._bump_font(FONT_STEP_PT))
        QShortcut(QKeySequence("Ctrl+-"), self, lambda: self._bump_font(-FONT_STEP_PT))
        self._snap = CaptionSnapshot()
        self.set_style(self._style)

    def set_snapshot(self, snap: CaptionSnapshot) -> None:
        """Show the tail of ``snap`` (re-rendered only when its version changes)."""
        if snap.version == self._version:
            return
        self._version = snap.version
        self._snap = snap
        self._render()

    def set_style(self, style: CaptionStyle) -> None:
        """Font size and theme from ``style``; the strip always shows two lines."""
        self._style = clamp_style(style)
        theme = THEMES[self._style.theme]
        self.setPalette(theme_palette(self.palette(), theme))
        self.close_button.setStyleSheet(
            f"QPushButton {{ font-size: 18pt; font-weight: bold; color: {theme.fg}; background: {theme.button_bg};"
            f" border: 1px solid {theme.tentative}; border-radius: 4px; }}")
        font = caption_font(self._style.font_pt)
        self.text.setFont(font)
        self._formats = CaptionFormats(theme, self._style.confidence_shading, line_height_px(font))
        h = self.text.height_for_lines(STRIP_LINES)
        self.text.setFixedHeight(h)
        m = self.layout().contentsMargins()
        self.setFixedHeight(h + m.top() + m.bottom())
        if self.width() < 600:
            self.resize(max(600, int(self._style.font_pt * 30)), self.height())
        self._render()

    def style_settings(self) -> CaptionStyle:
        """The strip's current style."""
        return CaptionStyle(**vars(self._style))

    def _bump_font(self, delta: int) -> None:
        self.set_style(CaptionStyle(self._style.font_pt + delta, self._style.theme, self._style.lines,
                                    self._style.confidence_shading))
        self.style_changed.emit()

    def _render(self) -> None:
        snap = self._snap
        doc = self.text.document()
        doc.clear()
        cur = QTextCursor(doc)
        cur.beginEditBlock()
        cur.setBlockFormat(self._formats.block)
        tail = snap.lines[-TAIL_LINES:]
        for i, line in enumerate(tail):
            if i:
                cur.insertBlock()
            self._formats.write_line(cur, line)
        if snap.tentative:
            self._formats.write_tentative(cur, snap.tentative, new_block=tentative_starts_paragraph(snap.lines),
                                          continues=bool(tail))
        cur.endEditBlock()
        sb = self.text.verticalScrollBar()
        sb.setValue(sb.maximum())  # the newest words sit on the bottom line

    # ---- dragging ------------------------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """Start moving the strip: the window manager's move where it offers one, else our own."""
        if event.button() == Qt.MouseButton.LeftButton:
            handle = self.windowHandle()
            if handle is not None and handle.startSystemMove():
                self._drag_offset = None
            else:
                self._drag_offset = event.globalPosition().toPoint() - self.frameGeometry().topLeft()
            event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """Follow the mouse while dragging."""
        if self._drag_offset is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.move(event.globalPosition().toPoint() - self._drag_offset)
            event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """Stop dragging."""
        self._drag_offset = None

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """Tell the owner (its toggle button unchecks)."""
        super().closeEvent(event)
        self.closed.emit()
