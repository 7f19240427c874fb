"""The live caption view: very large high-contrast text, a visibly different tentative tail, scrollback that does
not fight the reader, search, export, full screen and a compact always-on-top strip.

The view only renders :class:`~hearing_assist.asr.captions.CaptionSnapshot` objects; it never touches the model.
User commands leave as signals (pause, clear, export) so the owner decides what happens to the model and files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import ceil

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import (
    QColor, QFont, QKeySequence, QPalette, QShortcut, QTextBlockFormat, QTextCharFormat, QTextCursor, QTextDocument,
)
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QLineEdit, QMenu, QMessageBox, QPushButton, QSpinBox, QTextEdit, QToolButton,
    QVBoxLayout, QWidget,
)

from hearing_assist.asr.captions import SENTENCE_END, CaptionLine, CaptionSnapshot
from hearing_assist.asr.transcript import Word
from hearing_assist.profiles.user import (
    MAX_FONT_PT, MAX_LINES, MIN_FONT_PT, MIN_LINES, CaptionStyle, clamp_style,
)



FONT_STEP_PT = 4  # one Ctrl+= press: big enough to notice at caption sizes
LOW_CONFIDENCE = 0.5  # words below this probability are drawn dimmer when shading is on
EXPORT_FORMATS = (("txt", "Plain text (.txt)"), ("srt", "SubRip subtitles (.srt)"), ("vtt", "WebVTT subtitles (.vtt)"))
TOOLBAR_PT = 12  # controls stay readable next to huge captions without crowding the toolbar
BOTTOM_SLACK_PX = 4  # "at the bottom" tolerance so a pixel of rounding does not stop auto-follow
CAPTION_FAMILY = "Sans Serif"  # a plain sans face; the platform maps it to its default sans (DejaVu, Segoe...)


@dataclass(frozen=True)
class Theme:
    """Colours of one caption theme (hex strings)."""

    label: str
    bg: str
    fg: str
    tentative: str  # not only colour marks tentative words: they are also italic, light and dotted-underlined
    dim: str  # low-confidence committed words
    match_bg: str
    current_bg: str
    current_fg: str
    accent_bg: str  # the "New captions" button
    accent_fg: str
    button_bg: str


THEMES: dict[str, Theme] = {
    "dark": Theme("Dark", "#101214", "#f4f4f4", "#a2a8ae", "#8f959b", "#4a4020", "#ffd23f", "#000000",
                  "#2f81f7", "#ffffff", "#24292f"),
    "light": Theme("Light", "#ffffff", "#101010", "#5f6368", "#7a7f85", "#fff1a8", "#ffb000", "#000000",
                   "#0b5cd5", "#ffffff", "#eaeef2"),
    "yellow-on-black": Theme("Yellow on black", "#000000", "#ffff00", "#c8c8c8", "#a3a300", "#3d3d00", "#ffffff",
                             "#000000", "#ffff00", "#000000", "#1a1a1a"),
}


def caption_font(pt: int) -> QFont:
    """The caption face at ``pt`` points."""
    f = QFont(CAPTION_FAMILY)
    f.setStyleHint(QFont.StyleHint.SansSerif)
    f.setPointSize(pt)
    return f


def theme_palette(base: QPalette, theme: Theme) -> QPalette:
    """``base`` recoloured to ``theme`` (text area and toolbar alike, so full screen is one calm surface)."""
    pal = QPalette(base)
    bg, fg, btn = QColor(theme.bg), QColor(theme.fg), QColor(theme.button_bg)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        for role, colour in ((QPalette.ColorRole.Window, bg), (QPalette.ColorRole.Base, bg),
                             (QPalette.ColorRole.AlternateBase, btn), (QPalette.ColorRole.Text, fg),
                             (QPalette.ColorRole.WindowText, fg), (QPalette.ColorRole.Button, btn),
                             (QPalette.ColorRole.ButtonText, fg),
                             (QPalette.ColorRole.Highlight, QColor(theme.current_bg)),
                             (QPalette.ColorRole.PlaceholderText, QColor(theme.tentative)),
                             (QPalette.ColorRole.HighlightedText, QColor(theme.current_fg))):
            pal.setColor(group, role, colour)
    return pal


class CaptionFormats:
    """Character formats for committed, low-confidence and tentative words in one theme."""

    def __init__(self, theme: Theme, shading: bool, line_px: float):
        self.shading = shading
        # Every line exactly line_px high: italic/light faces have other metrics, and uneven lines would let a
        # sliver of an older line peek in above the chosen number of lines.
        self.block = QTextBlockFormat()
        self.block.setLineHeight(line_px, QTextBlockFormat.LineHeightTypes.FixedHeight.value)
        self.committed = QTextCharFormat()
        self.committed.setForeground(QColor(theme.fg))
        self.committed.setFontWeight(QFont.Weight.Normal)
        self.dim = QTextCharFormat(self.committed)
        self.dim.setForeground(QColor(theme.dim))
        # Tentative words may still change: grey, italic, light and dotted-underlined so that the difference does
        # not rely on colour alone (colour-blind readers, yellow-on-black).
        self.tentative = QTextCharFormat()
        self.tentative.setForeground(QColor(theme.tentative))
        self.tentative.setFontItalic(True)
        self.tentative.setFontWeight(QFont.Weight.Light)
        self.tentative.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
        self.tentative.setUnderlineColor(QColor(theme.tentative))

    def write_line(self, cur: QTextCursor, line: CaptionLine) -> None:
        """Insert ``line``'s words at ``cur``; per word only when shading needs it (one insert is much cheaper)."""
        if not self.shading or line.min_probability >= LOW_CONFIDENCE:
            cur.insertText(line.text, self.committed)
            return
        for i, w in enumerate(line.words):
            if i:
                cur.insertText(" ", self.committed)
            cur.insertText(w.text, self.dim if w.probability < LOW_CONFIDENCE else self.committed)

    def write_tentative(self, cur: QTextCursor, words: tuple[Word, ...], new_block: bool, continues: bool) -> None:
        """Insert the tentative tail: in a new paragraph after a sentence end, else after a plain space."""
        if new_block:
            cur.insertBlock(self.block)
        elif continues:
            cur.insertText(" ", self.committed)
        cur.insertText(" ".join(w.text for w in words), self.tentative)


def tentative_starts_paragraph(lines: tuple[CaptionLine, ...]) -> bool:
    """Whether the tentative tail belongs on a new line (the model starts one after a sentence end)."""
    return bool(lines) and lines[-1].text.endswith(SENTENCE_END)


def extends(new: CaptionLine, old: CaptionLine) -> bool:
    """Whether ``new`` is ``old`` or ``old`` with more words appended (how the model grows its last line)."""
    return new is old or new.words[:len(old.words)] == old.words


def line_height_px(font: QFont) -> float:
    """The height of one laid-out text line in ``font`` (what QTextDocument uses per wrapped line)."""
    doc = QTextDocument()
    doc.setDefaultFont(font)
    doc.setDocumentMargin(0)
    doc.setPlainText("Xg")
    one = doc.size().height()
    doc.setPlainText("Xg\nXg")
    return doc.size().height() - one


class CaptionText(QTextEdit):
    """The read-only caption text; a small fixed top padding lies outside the scrolling document so that, at the
    bottom, exactly the chosen number of lines shows and no sliver of an older line peeks in at the top."""

    TOP_PAD_PX = 6
    DOC_MARGIN_PX = 12

    def __init__(self, parent=None):
        super().__init__(parent)
        self.document().setDocumentMargin(self.DOC_MARGIN_PX)
        self.setViewportMargins(0, self.TOP_PAD_PX, 0, 0)

    def height_for_lines(self, lines: int) -> int:
        """Widget height that shows ``lines`` caption lines above the document's bottom margin."""
        return ceil(lines * line_height_px(self.font()) + self.DOC_MARGIN_PX + self.TOP_PAD_PX + 2 * self.frameWidth())


class _SpaceToPause(QObject):
    """Event filter: Space on the caption text toggles pause, even if the window has its own Space shortcut."""

    def __init__(self, view: "CaptionView"):
        super().__init__(view)
        self.view = view

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        """Claim plain Space before shortcuts see it, then toggle pause on the press."""
        t = event.type()
        if t in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and event.key() == Qt.Key.Key_Space \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            if t == QEvent.Type.ShortcutOverride:
                event.accept()  # "this key is mine": window-level Space shortcuts (Start listening) stay quiet
                return True
            if not event.isAutoRepeat():
                self.view.toggle_pause()
            return True
        return False


class CaptionView(QWidget):
    """Live captions with a small toolbar; feed it snapshots from the GUI thread with :meth:`set_snapshot`."""

    export_requested = Signal(str)  # "txt" | "srt" | "vtt" — the owner writes the file
    pause_toggled = Signal(bool)  # True = paused
    clear_requested = Signal()
    style_changed = Signal()  # the reader changed size/theme/lines/shading: persist style_settings()

    def __init__(self, style: CaptionStyle | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("CaptionView")
        self.setAccessibleName("Live captions")
        self.setAccessibleDescription("Live captions of what is being said, with pause, search, export and "
                                      "display settings")
        self._style = clamp_style(style or CaptionStyle())
        self._snap = CaptionSnapshot()
        self._version: int | None = None
        self._rendered: list[CaptionLine] = []  # committed lines in the document, in order (one paragraph each)
        self._last_start = 0  # document position where the last committed paragraph begins
        self._committed_end = 0  # document position after the last committed character (tentative tail follows)
        self._matches: list[QTextCursor] = []
        self._match_index = -1
        self._full_screen_embedded = False
        self._full_screen = False  # our own flag: without a window manager the window state may never change
        self.strip = None  # the CaptionStrip, created on first use
        self._build()
        self._apply_style(rebuild=False)

    # ---- construction --------------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(8, 8, 8, 8)
        root.setSpacing(6)
        self.setAutoFillBackground(True)

        self.toolbar = QWidget()
        self.toolbar.setObjectName("captionToolbar")
        # Two rows (commands and search; display settings) keep the view narrower than small laptop screens.
        rows = QVBoxLayout(self.toolbar)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(4)
        bar, bar2 = QHBoxLayout(), QHBoxLayout()
        for b in (bar, bar2):
            b.setSpacing(6)
            rows.addLayout(b)
        tb_font = self.toolbar.font()
        tb_font.setPointSize(max(tb_font.pointSize(), TOOLBAR_PT))
        self.toolbar.setFont(tb_font)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self._describe(self.pause_button, "Pause captions", "Freeze the captions; press again or Space to resume")
        self.pause_button.toggled.connect(self._on_pause_button)
        bar.addWidget(self.pause_button)

        self.clear_button = QPushButton("Clear…")
        self._describe(self.clear_button, "Clear captions", "Delete all captions after confirming (Ctrl+L)")
        self.clear_button.clicked.connect(self.request_clear)
        bar.addWidget(self.clear_button)

        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._describe(self.export_button, "Export captions", "Save the captions as text or subtitles (Ctrl+S)")
        self.export_menu = QMenu(self.export_button)
        self.export_menu.setAccessibleName("Export format")
        self.export_actions = {}
        for fmt, label in EXPORT_FORMATS:
            act = self.export_menu.addAction(label)
            act.triggered.connect(lambda _=False, f=fmt: self.export_requested.emit(f))
            self.export_actions[fmt] = act
        self.export_button.setMenu(self.export_menu)
        bar.addWidget(self.export_button)

        self.search_field = QLineEdit()
        self.search_field.setPlaceholderText("Search captions (Ctrl+F)")
        self.search_field.setClearButtonEnabled(True)
        self.search_field.setMinimumWidth(140)
        self._describe(self.search_field, "Search captions",
                       "Type words to find in the caption history; Enter for next match, Shift+Enter for previous")
        self.search_field.textChanged.connect(self._on_search_text)
        self.search_field.returnPressed.connect(self.find_next)
        QShortcut(QKeySequence("Shift+Return"), self.search_field, self.find_previous,
                  context=Qt.ShortcutContext.WidgetShortcut)
        bar.addWidget(self.search_field, 1)
        self.prev_button = QPushButton("▲")
        self._describe(self.prev_button, "Previous match", "Go to the previous search match (Shift+F3)")
        self.prev_button.clicked.connect(self.find_previous)
        self.next_button = QPushButton("▼")
        self._describe(self.next_button, "Next match", "Go to the next search match (F3)")
        self.next_button.clicked.connect(self.find_next)
        for b in (self.prev_button, self.next_button):
            b.setFixedWidth(b.sizeHint().height() + 8)
            bar.addWidget(b)
        self.match_label = QLabel("")
        self._describe(self.match_label, "Search result", "Which match is shown and how many there are")
        bar.addWidget(self.match_label)
        bar = bar2

        self.font_spin = QSpinBox()
        self.font_spin.setRange(MIN_FONT_PT, MAX_FONT_PT)
        self.font_spin.setSingleStep(2)
        self.font_spin.setSuffix(" pt")
        self._describe(self.font_spin, "Caption text size", "Caption text size in points (Ctrl+= larger, "
                       "Ctrl+- smaller)")
        self.font_spin.valueChanged.connect(lambda v: self._user_style(font_pt=v))
        bar.addWidget(self._labelled("Size", self.font_spin))

        self.theme_combo = QComboBox()
        for key, theme in THEMES.items():
            self.theme_combo.addItem(theme.label, key)
        self._describe(self.theme_combo, "Caption colours", "Light, dark, or yellow text on black")
        self.theme_combo.currentIndexChanged.connect(
            lambda i: self._user_style(theme=self.theme_combo.itemData(i)))
        bar.addWidget(self._labelled("Colours", self.theme_combo))

        self.lines_spin = QSpinBox()
        self.lines_spin.setRange(MIN_LINES, MAX_LINES)
        self._describe(self.lines_spin, "Visible caption lines", "How many lines of captions are visible at once")
        self.lines_spin.valueChanged.connect(lambda v: self._user_style(lines=v))
        bar.addWidget(self._labelled("Lines", self.lines_spin))

        self.shading_button = QPushButton("Shade unsure")
        self.shading_button.setCheckable(True)
        self._describe(self.shading_button, "Shade unsure words",
                       "Draw words the recogniser is unsure about dimmer")
        self.shading_button.toggled.connect(lambda on: self._user_style(confidence_shading=on))
        bar.addWidget(self.shading_button)
        bar.addStretch(1)

        self.strip_button = QPushButton("Strip")
        self.strip_button.setCheckable(True)
        self._describe(self.strip_button, "Caption strip",
                       "Show a small always-on-top caption strip that stays above other windows")
        self.strip_button.toggled.connect(self.set_strip_visible)
        bar.addWidget(self.strip_button)

        self.full_screen_button = QPushButton("Full screen")
        self.full_screen_button.setCheckable(True)
        self._describe(self.full_screen_button, "Full screen captions", "Show the captions on the whole screen "
                       "(F11; Esc leaves)")
        self.full_screen_button.toggled.connect(self.set_full_screen)
        bar.addWidget(self.full_screen_button)
        root.addWidget(self.toolbar)

        self.paused_label = QLabel("⏸ Paused — captions are frozen. Press Space or Resume to continue.")
        self.paused_label.setStyleSheet("font-weight: bold; padding: 2px;")
        self._describe(self.paused_label, "Paused", "Captions are paused")
        self.paused_label.hide()
        root.addWidget(self.paused_label)

        self.text = CaptionText()
        self.text.setReadOnly(True)
        # Keyboard selection gives screen-reader users a caret to walk the committed text line by line.
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.text.setCursorWidth(0)  # no blinking caret in the captions; keyboard selection still works
        self.text.setUndoRedoEnabled(False)  # an undo stack of thousands of live edits would only cost memory
        self.text.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.text.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.text.setAccessibleName("Captions")
        self.text.setAccessibleDescription("Caption history; the newest words are at the bottom. Words in italics "
                                           "with a dotted underline may still change.")
        self.text.installEventFilter(_SpaceToPause(self))
        root.addWidget(self.text)
        root.addStretch(1)  # spare height goes below the text: the lines setting decides the text's height
        self.setFocusProxy(self.text)  # the view "has focus" when its text has focus (Space pauses only then)

        # Overlay on the text: only shown while the reader is scrolled up and new captions arrived.
        self.new_button = QPushButton("↓ New captions", self.text)
        self._describe(self.new_button, "Jump to new captions", "Scroll down to the newest captions")
        self.new_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.new_button.clicked.connect(self.scroll_to_bottom)
        self.new_button.hide()
        self.text.installEventFilter(self)
        sb = self.text.verticalScrollBar()
        sb.valueChanged.connect(self._on_scrolled)
        sb.rangeChanged.connect(lambda *_: self._on_scrolled())

        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (("Ctrl+F", self.focus_search), ("F3", self.find_next), ("Shift+F3", self.find_previous),
                           ("Ctrl+S", self.popup_export_menu), ("Ctrl+L", self.request_clear),
                           ("Ctrl+=", lambda: self.change_font(FONT_STEP_PT)),
                           ("Ctrl++", lambda: self.change_font(FONT_STEP_PT)),
                           ("Ctrl+-", lambda: self.change_font(-FONT_STEP_PT)), ("F11", self.toggle_full_screen)):
            QShortcut(QKeySequence(keys), self, slot, context=ctx)
        # Esc only means something in full screen; elsewhere it must stay free for dialogs and the search field.
        self.escape_shortcut = QShortcut(QKeySequence("Esc"), self, lambda: self.set_full_screen(False),
                                         context=ctx)
        self.escape_shortcut.setEnabled(False)

    @staticmethod
    def _describe(w: QWidget, name: str, description: str) -> None:
        w.setAccessibleName(name)
        w.setAccessibleDescription(description)
        w.setToolTip(description)

    @staticmethod
    def _labelled(text: str, w: QWidget) -> QWidget:
        box = QWidget()
        lay = QHBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        label = QLabel(text)
        label.setBuddy(w)
        lay.addWidget(label)
        lay.addWidget(w)
        return box

    # ---- public API ----------------------------------------------------------------------------------------

    def set_snapshot(self, snap: CaptionSnapshot) -> None:
        """Show ``snap``; does nothing when its version is already shown (so polling at 30 Hz is cheap)."""
        if snap.version == self._version:
            return
        self._version = snap.version
        self._snap = snap
        self._show_paused(snap.paused)
        follow = self._at_bottom()
        grew = self._render(snap)
        if follow:
            self.scroll_to_bottom()
        elif grew:
            self._show_new_button()
        if self.strip is not None and self.strip.isVisible():
            self.strip.set_snapshot(snap)

    def set_style(self, style: CaptionStyle) -> None:
        """Apply ``style`` (clamped to the allowed ranges)."""
        old = self._style
        self._style = clamp_style(style)
        self._apply_style(rebuild=old != self._style)

    def style_settings(self) -> CaptionStyle:
        """A copy of the current style (for the user's profile)."""
        return replace(self._style)

    def toggle_pause(self) -> None:
        """Pause or resume (emits :attr:`pause_toggled`)."""
        self.pause_button.toggle()

    def request_clear(self) -> None:
        """Ask for confirmation, then emit :attr:`clear_requested` (the box is non-blocking: no nested loop)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Clear captions",
                          "Delete all captions shown so far?\nExport them first if you want to keep them.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # an accidental Enter must not wipe the history
        box.setAccessibleName("Clear captions?")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda r: r == QMessageBox.StandardButton.Yes and self.clear_requested.emit())
        self.clear_box = box
        box.open()

    def popup_export_menu(self) -> None:
        """Open the export menu under its button (non-blocking)."""
        self.export_menu.popup(self.export_button.mapToGlobal(self.export_button.rect().bottomLeft()))

    def change_font(self, delta_pt: int) -> None:
        """Make the caption text ``delta_pt`` points larger (negative: smaller), within 16..96."""
        self._user_style(font_pt=self._style.font_pt + delta_pt)

    def focus_search(self) -> None:
        """Put the keyboard focus in the search field with its text selected."""
        self.search_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_field.selectAll()

    def scroll_to_bottom(self) -> None:
        """Show the newest captions (auto-follow resumes)."""
        sb = self.text.verticalScrollBar()
        sb.setValue(sb.maximum())
        self.new_button.hide()

    def at_bottom(self) -> bool:
        """Whether the newest captions are in view (then new text auto-scrolls)."""
        return self._at_bottom()

    # ---- rendering -----------------------------------------------------------------------------------------

    def _render(self, snap: CaptionSnapshot) -> bool:
        """Bring the document up to ``snap``; returns whether committed text changed. Appends incrementally."""
        lines, n = snap.lines, len(self._rendered)
        # Committed lines only grow (the last one may get longer) unless the model was cleared: then rebuild.
        if len(lines) < n or (n and not extends(lines[n - 1], self._rendered[n - 1])) \
                or (n > 1 and (lines[0] is not self._rendered[0] or lines[n - 2] is not self._rendered[n - 2])):
            self._reset_document()
            n = 0
        done = self._rendered
        doc = self.text.document()
        fm = self._formats
        cur = QTextCursor(doc)
        cur.beginEditBlock()
        cur.setPosition(self._committed_end)
        cur.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cur.removeSelectedText()  # the old tentative tail
        grew = len(lines) > n
        if n and lines[n - 1] is not done[n - 1]:  # the last line got more words
            cur.setPosition(self._last_start)
            cur.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cur.removeSelectedText()
            fm.write_line(cur, lines[n - 1])
            done[n - 1] = lines[n - 1]
            grew = True
        if not done:
            cur.setBlockFormat(fm.block)
        for line in lines[n:]:
            if done:
                cur.insertBlock(fm.block)
            self._last_start = cur.position()
            fm.write_line(cur, line)
            done.append(line)
        self._committed_end = cur.position()
        if snap.tentative:
            fm.write_tentative(cur, snap.tentative, new_block=tentative_starts_paragraph(lines),
                               continues=bool(lines))
        cur.endEditBlock()
        if grew and self._matches:
            self._refresh_matches(keep_current=True)
        return grew

    def _reset_document(self) -> None:
        self.text.document().clear()
        self._rendered = []
        self._last_start = self._committed_end = 0
        self._matches, self._match_index = [], -1
        self.text.setExtraSelections([])

    def _rebuild(self) -> None:
        """Render the current snapshot from scratch (after a theme or shading change)."""
        follow = self._at_bottom()
        self._reset_document()
        self._render(self._snap)
        if self.search_field.text():
            self._refresh_matches(keep_current=False)
        if follow:
            self.scroll_to_bottom()

    # ---- style ---------------------------------------------------------------------------------------------

    def _user_style(self, **change) -> None:
        """A style change from the toolbar or a shortcut: apply it and tell the owner."""
        new = clamp_style(replace(self._style, **change))
        if new != self._style:
            self.set_style(new)
            self.style_changed.emit()

    def _apply_style(self, rebuild: bool) -> None:
        s = self._style
        theme = THEMES[s.theme]
        self.setPalette(theme_palette(self.palette(), theme))
        self.text.setFont(caption_font(s.font_pt))
        self._formats = CaptionFormats(theme, s.confidence_shading, self.line_height())
        # Fusion draws a field's frame from the window colour, invisible on black: give the search field its own.
        self.search_field.setStyleSheet(
            f"QLineEdit {{ border: 1px solid {theme.tentative}; border-radius: 3px; padding: 3px 5px; "
            f"background: {theme.bg}; color: {theme.fg}; }}")
        self.new_button.setStyleSheet(
            f"QPushButton {{ background: {theme.accent_bg}; color: {theme.accent_fg}; font-size: 13pt; "
            f"font-weight: bold; padding: 4px 12px; border-radius: 6px; border: 2px solid {theme.bg}; }}")
        self.new_button.adjustSize()
        for w, v in ((self.font_spin, s.font_pt), (self.lines_spin, s.lines)):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        for w, fn in ((self.theme_combo, lambda: self.theme_combo.setCurrentIndex(self.theme_combo.findData(s.theme))),
                      (self.shading_button, lambda: self.shading_button.setChecked(s.confidence_shading))):
            w.blockSignals(True)
            fn()
            w.blockSignals(False)
        self._apply_height()
        if rebuild:
            self._rebuild()
        else:
            self._paint_matches()
        if self.strip is not None:
            self.strip.set_style(s)

    def line_height(self) -> float:
        """Height in px of one caption line at the current size."""
        return line_height_px(self.text.font())

    def _apply_height(self) -> None:
        """Fix the text area to exactly ``lines`` caption lines (full screen lets it fill the screen)."""
        lines = self._style.lines
        if self._full_screen:
            # Fill the screen in whole lines, so no sliver of an older line is cut at the top.
            avail = self.height() - self.text.geometry().top() - self.layout().contentsMargins().bottom()
            spare = avail - self.text.height_for_lines(0)
            lines = max(lines, int(spare // self.line_height()))
        self.text.setFixedHeight(self.text.height_for_lines(lines))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """In full screen the number of lines follows the screen height."""
        super().resizeEvent(event)
        if self._full_screen:
            self._apply_height()

    # ---- scrolling -----------------------------------------------------------------------------------------

    def _at_bottom(self) -> bool:
        sb = self.text.verticalScrollBar()
        return sb.value() >= sb.maximum() - BOTTOM_SLACK_PX

    def _on_scrolled(self, *_):
        if self._at_bottom():
            self.new_button.hide()

    def _show_new_button(self) -> None:
        self._place_new_button()
        self.new_button.show()
        self.new_button.raise_()

    def _place_new_button(self) -> None:
        vp = self.text.viewport().geometry()
        b = self.new_button
        b.adjustSize()
        # Bottom-right corner: over the ends of lines rather than the middle the reader is looking at.
        b.move(vp.x() + vp.width() - b.width() - 8, vp.y() + vp.height() - b.height() - 6)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        """Keep the "New captions" button centred at the bottom of the text when it resizes."""
        if obj is self.text and event.type() == QEvent.Type.Resize:
            self._place_new_button()
        return False

    # ---- pause ---------------------------------------------------------------------------------------------

    def _on_pause_button(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setAccessibleName("Resume captions" if paused else "Pause captions")
        self.paused_label.setVisible(paused)
        self.pause_toggled.emit(paused)

    def _show_paused(self, paused: bool) -> None:
        """Mirror the model's pause state without emitting (the owner may pause from elsewhere)."""
        if self.pause_button.isChecked() != paused:
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(paused)
            self.pause_button.blockSignals(False)
            self.pause_button.setText("Resume" if paused else "Pause")
            self.pause_button.setAccessibleName("Resume captions" if paused else "Pause captions")
        self.paused_label.setVisible(paused)

    # ---- search --------------------------------------------------------------------------------------------

    def _on_search_text(self, _text: str) -> None:
        self._refresh_matches(keep_current=False)
        if self._matches:
            self._go_to_match(len(self._matches) - 1)  # the most recent match is usually the one wanted

    def _refresh_matches(self, keep_current: bool) -> None:
        """Find every occurrence of the search text in the committed captions (case-insensitive)."""
        query = self.search_field.text().strip()
        old = self._matches[self._match_index].selectionStart() if keep_current and self._match_index >= 0 else -1
        self._matches = []
        doc = self.text.document()
        if query:
            cur = doc.find(query, 0)
            while not cur.isNull() and cur.selectionEnd() <= self._committed_end:
                self._matches.append(cur)
                cur = doc.find(query, cur)
        starts = [c.selectionStart() for c in self._matches]
        self._match_index = starts.index(old) if old in starts else (-1 if not self._matches else self._match_index)
        if self._match_index >= len(self._matches):
            self._match_index = len(self._matches) - 1
        self._paint_matches()

    def find_next(self) -> None:
        """Select the next search match (wraps around)."""
        self._step(+1)

    def find_previous(self) -> None:
        """Select the previous search match (wraps around)."""
        self._step(-1)

    def _step(self, d: int) -> None:
        if not self._matches:
            self._refresh_matches(keep_current=False)
        if self._matches:
            i = (len(self._matches) - 1 if d < 0 else 0) if self._match_index < 0 else self._match_index + d
            self._go_to_match(i % len(self._matches))

    def _go_to_match(self, i: int) -> None:
        self._match_index = i
        self._paint_matches()
        c = QTextCursor(self._matches[i])
        c.clearSelection()
        self.text.setTextCursor(c)
        self.text.ensureCursorVisible()  # scrolling up to a match pauses auto-follow, as the reader expects

    def search_matches(self) -> list[str]:
        """The matched texts, in document order (for tests and the match counter)."""
        return [c.selectedText() for c in self._matches]

    def current_match(self) -> int:
        """Index of the highlighted match, -1 when none."""
        return self._match_index

    def _paint_matches(self) -> None:
        theme = THEMES[self._style.theme]
        sels = []
        for i, c in enumerate(self._matches):
            sel = QTextEdit.ExtraSelection()
            sel.cursor = c
            fmt = QTextCharFormat()
            if i == self._match_index:
                fmt.setBackground(QColor(theme.current_bg))
                fmt.setForeground(QColor(theme.current_fg))
            else:
                fmt.setBackground(QColor(theme.match_bg))
            sel.format = fmt
            sels.append(sel)
        self.text.setExtraSelections(sels)
        n = len(self._matches)
        if not self.search_field.text().strip():
            self.match_label.setText("")
        elif n == 0:
            self.match_label.setText("No match")
        else:
            self.match_label.setText(f"{self._match_index + 1} of {n}")

    # ---- full screen and strip -----------------------------------------------------------------------------

    def toggle_full_screen(self) -> None:
        """Enter or leave full screen (F11)."""
        self.set_full_screen(not self._full_screen)

    def set_full_screen(self, on: bool) -> None:
        """Show only the captions on the whole screen; an embedded view becomes a window and goes back after."""
        if on == self._full_screen:
            self._sync_full_screen_button()
            return
        self._full_screen = on
        if on:
            self._full_screen_embedded = not self.isWindow()
            if self._full_screen_embedded:
                self.setWindowFlags(self.windowFlags() | Qt.WindowType.Window)
            self.showFullScreen()
        else:
            if self._full_screen_embedded:
                # Back into the parent's layout: a widget that is no longer a window is laid out there again.
                self.setWindowFlags(self.windowFlags() & ~Qt.WindowType.Window)
                self._full_screen_embedded = False
                self.show()
            else:
                self.showNormal()
        self.escape_shortcut.setEnabled(on)
        self._apply_height()
        self._sync_full_screen_button()
        self.text.setFocus()
        if on:
            self.activateWindow()

    def _sync_full_screen_button(self) -> None:
        self.full_screen_button.blockSignals(True)
        self.full_screen_button.setChecked(self._full_screen)
        self.full_screen_button.blockSignals(False)

    def set_strip_visible(self, on: bool) -> None:
        """Show or hide the always-on-top caption strip."""
        if on and self.strip is None:
            from hearing_assist.gui.caption_strip import CaptionStrip
            self.strip = CaptionStrip(self._style)
            self.strip.closed.connect(lambda: self.strip_button.setChecked(False))
            self.destroyed.connect(self.strip.deleteLater)  # a parentless window: do not outlive the view
        if self.strip is None:
            return
        if on:
            self.strip.set_style(self._style)
            self.strip.set_snapshot(self._snap)
            self.strip.show()
            self.strip.raise_()
        else:
            self.strip.hide()
        if self.strip_button.isChecked() != on:
            self.strip_button.setChecked(on)
