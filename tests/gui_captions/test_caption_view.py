"""The caption view and strip offscreen, fed with snapshots from a real CaptionModel."""

from __future__ import annotations

import time
from dataclasses import asdict

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import (  # noqa: E402
    QColor, QKeySequence, QMouseEvent, QPalette, QShortcut, QTextCharFormat, QTextCursor,
)
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton, QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QMessageBox, QVBoxLayout, QWidget,
)

from hearing_assist.asr.captions import CaptionModel  # noqa: E402
from hearing_assist.asr.transcript import CaptionUpdate, Word  # noqa: E402
from hearing_assist.gui.caption_strip import CaptionStrip  # noqa: E402
from hearing_assist.gui.caption_view import THEMES, CaptionStyle, CaptionView  # noqa: E402


class Speaker:
    """Makes timed Words for the model, as the streaming recognizer would."""

    def __init__(self):
        self.t = 0.0

    def words(self, text: str, p: float = 0.9) -> tuple[Word, ...]:
        out = []
        for w in text.split():
            out.append(Word(w, self.t, self.t + 0.3, p))
            self.t += 0.35
        return tuple(out)


@pytest.fixture
def model():
    return CaptionModel()


@pytest.fixture
def say():
    return Speaker()


@pytest.fixture
def view(qtbot):
    v = CaptionView(CaptionStyle(font_pt=24, lines=3))
    qtbot.addWidget(v)
    v.resize(1000, 400)
    v.show()
    qtbot.waitExposed(v)
    return v


def fragments(view: CaptionView) -> list[tuple[str, QTextCharFormat]]:
    """(text, char format) of every fragment in the document, in order."""
    out = []
    block = view.text.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            out.append((frag.text(), frag.charFormat()))
            it += 1
        block = block.next()
    return out


def activate(qtbot, w: QWidget) -> None:
    """Make ``w``'s window the active one (window shortcuts only fire there)."""
    w.window().activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w.window())


def fmt_of(view: CaptionView, text: str) -> QTextCharFormat:
    """The char format of the first character of ``text`` in the view."""
    found = view.text.document().find(text)
    assert not found.isNull(), text
    cur = QTextCursor(view.text.document())
    cur.setPosition(found.selectionStart() + 1)
    return cur.charFormat()


def fill(model, say, n: int, prefix: str = "line") -> None:
    """``n`` committed sentences, one caption line each."""
    model.apply(CaptionUpdate(tuple(w for i in range(n) for w in say.words(f"{prefix} number {i} is here."))))


# ---- content and formats -----------------------------------------------------------------------------------

def test_committed_text_appears_and_tentative_is_formatted_differently(view, model, say):
    view.set_snapshot(model.apply(CaptionUpdate(say.words("Good morning. How are you"), say.words("feeling today"))))
    assert view.text.toPlainText() == "Good morning.\nHow are you feeling today"
    committed, tentative = fmt_of(view, "How"), fmt_of(view, "feeling")
    assert not committed.fontItalic() and tentative.fontItalic()
    assert committed.underlineStyle() == QTextCharFormat.UnderlineStyle.NoUnderline
    assert tentative.underlineStyle() == QTextCharFormat.UnderlineStyle.DotLine  # not colour alone
    assert tentative.fontWeight() < committed.fontWeight()
    assert tentative.foreground().color() != committed.foreground().color()


def test_tentative_tail_is_replaced_and_a_growing_line_stays_one_paragraph(view, model, say):
    view.set_snapshot(model.apply(CaptionUpdate(say.words("we will"), say.words("meet at"))))
    view.set_snapshot(model.apply(CaptionUpdate(say.words("meet at"), say.words("noon"))))
    assert view.text.toPlainText() == "we will meet at noon"
    view.set_snapshot(model.apply(CaptionUpdate(say.words("noon."), ())))
    assert view.text.toPlainText() == "we will meet at noon."
    assert view.text.document().blockCount() == 1
    assert all(not f.fontItalic() for _, f in fragments(view))


def test_tentative_after_a_sentence_end_starts_a_new_line(view, model, say):
    view.set_snapshot(model.apply(CaptionUpdate(say.words("It is late."), say.words("Shall we"))))
    assert view.text.toPlainText() == "It is late.\nShall we"


def test_unchanged_version_is_not_rerendered_and_clear_rebuilds(view, model, say):
    fill(model, say, 5)
    snap = model.snapshot()
    view.set_snapshot(snap)
    view.text.document().setPlainText("tampered")  # a second call with the same version must not touch it
    view.set_snapshot(snap)
    assert view.text.toPlainText() == "tampered"
    view.set_snapshot(model.apply(CaptionUpdate(say.words("after."))))
    model.clear()
    view.set_snapshot(model.apply(CaptionUpdate(say.words("Fresh start."))))
    assert view.text.toPlainText() == "Fresh start."


def test_confidence_shading_dims_unsure_words_only_when_enabled(view, model, say):
    words = say.words("the dose is") + say.words("fifteen", p=0.3) + say.words("milligrams.")
    view.set_snapshot(model.apply(CaptionUpdate(words)))
    assert {t for t, _ in fragments(view)} == {"the dose is fifteen milligrams."}  # one run: no shading
    view.set_style(CaptionStyle(font_pt=24, lines=3, confidence_shading=True))
    assert fmt_of(view, "fifteen").foreground().color() == QColor(THEMES["dark"].dim)
    assert fmt_of(view, "milligrams").foreground().color() == QColor(THEMES["dark"].fg)


# ---- scrollback --------------------------------------------------------------------------------------------

def test_scrolled_up_reader_is_not_moved_and_sees_new_captions_button(qtbot, view, model, say):
    fill(model, say, 40)
    view.set_snapshot(model.snapshot())
    sb = view.text.verticalScrollBar()
    assert sb.maximum() > 0 and sb.value() == sb.maximum()
    sb.setValue(sb.maximum() // 3)  # the reader scrolls up to re-read
    held = sb.value()
    view.set_snapshot(model.apply(CaptionUpdate(say.words("Something new was said."), say.words("and more"))))
    assert sb.value() == held
    assert view.new_button.isVisible()
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    assert sb.value() == sb.maximum() and not view.new_button.isVisible()


def test_at_bottom_new_captions_follow(view, model, say):
    fill(model, say, 40)
    view.set_snapshot(model.snapshot())
    sb = view.text.verticalScrollBar()
    before = sb.maximum()
    view.set_snapshot(model.apply(CaptionUpdate(say.words("One more line."))))
    assert sb.maximum() > before and sb.value() == sb.maximum()
    assert not view.new_button.isVisible()


# ---- style -------------------------------------------------------------------------------------------------

def test_yellow_on_black_theme_draws_yellow_text_on_black(view, model, say):
    view.set_snapshot(model.apply(CaptionUpdate(say.words("Yellow words on a black ground."))))
    view.set_style(CaptionStyle(font_pt=48, theme="yellow-on-black", lines=2))
    pal = view.text.palette()
    assert pal.color(QPalette.ColorRole.Base) == QColor("#000000")
    assert pal.color(QPalette.ColorRole.Text) == QColor("#ffff00")
    img = view.text.viewport().grab().toImage()
    colours = {img.pixelColor(x, y).name() for x in range(0, img.width(), 3) for y in range(0, img.height(), 3)}
    assert "#000000" in colours and "#ffff00" in colours
    view.set_style(CaptionStyle(font_pt=48, theme="light", lines=2))
    img = view.text.viewport().grab().toImage()
    assert img.pixelColor(2, 2) == QColor("#ffffff")


def test_font_size_and_lines_are_clamped_and_shortcuts_step_the_size(view):
    view.set_style(CaptionStyle(font_pt=200, lines=12, theme="neon"))
    s = view.style_settings()
    assert (s.font_pt, s.lines, s.theme) == (96, 8, "dark")
    view.set_style(CaptionStyle(font_pt=3, lines=0))
    assert (view.style_settings().font_pt, view.style_settings().lines) == (16, 1)
    view.change_font(-4)
    assert view.style_settings().font_pt == 16
    view.change_font(+4)
    assert view.style_settings().font_pt == 20 and view.text.font().pointSize() == 20
    assert CaptionStyle(**asdict(view.style_settings())) == view.style_settings()  # profile round trip


def test_font_shortcuts_from_the_keyboard(qtbot, view):
    activate(qtbot, view)
    view.text.setFocus()
    with qtbot.waitSignal(view.style_changed):
        qtbot.keyClick(view.text, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert view.style_settings().font_pt == 28
    qtbot.keyClick(view.text, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert view.style_settings().font_pt == 24


def test_lines_setting_sets_the_height_in_line_units(view):
    heights = {}
    for n in (1, 2, 5):
        view.set_style(CaptionStyle(font_pt=40, lines=n))
        heights[n] = view.text.height()
    step = view.line_height()
    assert step > 40  # 40 pt is well over 40 px at 96 dpi
    assert abs((heights[5] - heights[2]) - 3 * step) <= 1
    assert abs((heights[2] - heights[1]) - step) <= 1


def test_lines_setting_shows_that_many_lines(view, model, say):
    fill(model, say, 20)
    view.set_style(CaptionStyle(font_pt=32, lines=4))
    view.set_snapshot(model.snapshot())
    vp = view.text.viewport()
    bottom = view.text.cursorForPosition(QPoint(10, vp.height() - view.text.DOC_MARGIN_PX - 2))
    top = view.text.cursorForPosition(QPoint(10, 1))
    assert bottom.blockNumber() == 19  # the newest line sits at the bottom...
    assert bottom.blockNumber() - top.blockNumber() + 1 == 4  # ...and exactly four lines are in view


# ---- search, export, pause, clear --------------------------------------------------------------------------

def test_search_finds_and_highlights_with_next_and_previous(qtbot, view, model, say):
    for text in ("I bought an apple.", "The bus was late.", "Apple pie for dessert.", "Another apple please."):
        model.apply(CaptionUpdate(say.words(text)))
    view.set_snapshot(model.apply(CaptionUpdate((), say.words("apple tentative"))))
    activate(qtbot, view)
    view.text.setFocus()
    qtbot.keyClick(view.text, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert view.search_field.hasFocus()
    qtbot.keyClicks(view.search_field, "apple")
    assert [m.lower() for m in view.search_matches()] == ["apple"] * 3  # the tentative tail is not searched
    assert view.current_match() == 2 and view.match_label.text() == "3 of 3"
    sels = view.text.extraSelections()
    assert len(sels) == 3
    current = QColor(THEMES["dark"].current_bg)
    assert [s.format.background().color() == current for s in sels] == [False, False, True]
    qtbot.keyClick(view.search_field, Qt.Key.Key_Return)
    assert view.current_match() == 0  # wraps around
    assert view.text.textCursor().blockNumber() == 0
    view.find_previous()
    assert view.current_match() == 2
    view.find_previous()
    assert view.current_match() == 1 and view.text.textCursor().blockNumber() == 2
    view.search_field.setText("zebra")
    assert view.search_matches() == [] and view.match_label.text() == "No match"


def test_export_menu_emits_each_format(qtbot, view):
    for fmt in ("txt", "srt", "vtt"):
        with qtbot.waitSignal(view.export_requested) as sig:
            view.export_actions[fmt].trigger()
        assert sig.args == [fmt]
    activate(qtbot, view)
    view.text.setFocus()
    qtbot.keyClick(view.text, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(view.export_menu.isVisible)
    view.export_menu.hide()


def test_pause_button_and_space_emit_pause_toggled(qtbot, view, model, say):
    with qtbot.waitSignal(view.pause_toggled) as sig:
        qtbot.mouseClick(view.pause_button, Qt.MouseButton.LeftButton)
    assert sig.args == [True] and view.pause_button.text() == "Resume" and view.paused_label.isVisible()
    model.pause()
    view.set_snapshot(model.snapshot())
    with qtbot.waitSignal(view.pause_toggled) as sig:
        qtbot.keyClick(view.text, Qt.Key.Key_Space)
    assert sig.args == [False] and view.pause_button.text() == "Pause"


def test_space_pauses_only_with_focus_on_the_captions_even_against_a_window_shortcut(qtbot, model, say):
    window = QWidget()
    qtbot.addWidget(window)
    listened = []
    QShortcut(QKeySequence("Space"), window, lambda: listened.append(1))  # like the main window's Start button
    view = CaptionView(parent=window)
    QVBoxLayout(window).addWidget(view)
    window.show()
    activate(qtbot, window)
    toggles = []
    view.pause_toggled.connect(toggles.append)
    view.text.setFocus()
    qtbot.keyClick(view.text, Qt.Key.Key_Space)
    assert toggles == [True] and listened == []
    view.search_field.setFocus()
    qtbot.keyClick(view.search_field, Qt.Key.Key_Space)
    assert toggles == [True] and view.search_field.text() == " "


def test_paused_snapshot_updates_the_button_without_emitting(qtbot, view, model):
    toggles = []
    view.pause_toggled.connect(toggles.append)
    model.pause()
    view.set_snapshot(model.snapshot())
    assert view.pause_button.isChecked() and view.paused_label.isVisible() and toggles == []


def test_clear_asks_first_and_emits_only_on_yes(qtbot, view):
    cleared = []
    view.clear_requested.connect(lambda: cleared.append(1))
    activate(qtbot, view)
    view.text.setFocus()
    qtbot.keyClick(view.text, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    box = view.clear_box
    qtbot.waitUntil(box.isVisible)
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert cleared == []
    view.request_clear()
    view.clear_box.button(QMessageBox.StandardButton.Yes).click()
    assert cleared == [1]


# ---- full screen, strip, accessibility ---------------------------------------------------------------------

def test_full_screen_takes_an_embedded_view_out_and_esc_puts_it_back(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    view = CaptionView(parent=window)
    QVBoxLayout(window).addWidget(view)
    window.show()
    qtbot.waitExposed(window)
    view.text.setFocus()
    view.toggle_full_screen()  # what F11 does
    assert view.isWindow() and view.isFullScreen() and view.full_screen_button.isChecked()
    activate(qtbot, view)
    qtbot.keyClick(view.text, Qt.Key.Key_Escape)
    assert not view.isWindow() and view.parent() is window and not view.isFullScreen()
    assert view.isVisible() and not view.full_screen_button.isChecked()


def test_strip_is_always_on_top_frameless_and_shows_the_latest_words(qtbot, model, say):
    strip = CaptionStrip(CaptionStyle(font_pt=28, theme="yellow-on-black"))
    qtbot.addWidget(strip)
    flags = strip.windowFlags()
    for flag in (Qt.WindowType.WindowStaysOnTopHint, Qt.WindowType.FramelessWindowHint, Qt.WindowType.Tool):
        assert flags & flag == flag
    fill(model, say, 10)
    strip.set_snapshot(model.apply(CaptionUpdate(say.words("The last words."), say.words("still coming"))))
    strip.show()
    qtbot.waitExposed(strip)
    text = strip.text.toPlainText()
    assert text.endswith("The last words.\nstill coming") and "number 0 " not in text
    assert strip.text.palette().color(QPalette.ColorRole.Text) == QColor("#ffff00")
    # Dragging anywhere on the strip moves it.
    start = strip.pos()
    press = strip.rect().center()
    g = strip.mapToGlobal(press)
    for etype, pos, buttons in ((QEvent.Type.MouseButtonPress, g, Qt.MouseButton.LeftButton),
                                (QEvent.Type.MouseMove, g + QPoint(120, 60), Qt.MouseButton.LeftButton),
                                (QEvent.Type.MouseButtonRelease, g + QPoint(120, 60), Qt.MouseButton.NoButton)):
        local = QPointF(strip.mapFromGlobal(pos))
        ev = QMouseEvent(etype, local, QPointF(pos), Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(strip, ev)
    assert strip.pos() - start == QPoint(120, 60)


def test_view_strip_button_opens_strip_and_close_button_unchecks_it(qtbot, view, model, say):
    view.set_snapshot(model.apply(CaptionUpdate(say.words("Shown in the strip."))))
    view.strip_button.click()
    strip = view.strip
    qtbot.waitExposed(strip)
    assert strip.text.toPlainText() == "Shown in the strip."
    view.set_snapshot(model.apply(CaptionUpdate(say.words("And updated."))))
    assert strip.text.toPlainText().endswith("And updated.")
    view.change_font(8)
    assert strip.text.font().pointSize() == view.style_settings().font_pt
    strip.close_button.click()
    assert not strip.isVisible() and not view.strip_button.isChecked()


def test_every_control_has_an_accessible_name(view):
    controls = [w for w in view.findChildren(QWidget)
                if isinstance(w, (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit))
                and not isinstance(w.parent(), (QLineEdit, QAbstractSpinBox))]  # their internals
    assert len(controls) >= 10
    assert [type(w).__name__ for w in controls if not w.accessibleName() or not w.accessibleDescription()] == []
    assert view.text.accessibleName() == "Captions" and view.text.isReadOnly()


# ---- speed -------------------------------------------------------------------------------------------------

def test_five_thousand_lines_append_incrementally(qtbot, view, model, say):
    fill(model, say, 4900)
    view.set_snapshot(model.snapshot())
    snaps = [model.apply(CaptionUpdate(say.words(f"Late line {i} arrives."), say.words("and then")))
             for i in range(100)]
    t0 = time.perf_counter()
    for s in snaps:
        view.set_snapshot(s)
    elapsed = time.perf_counter() - t0
    assert view.text.document().blockCount() == 5001  # 5000 lines + the tentative tail's paragraph
    assert view.text.document().lastBlock().text() == "and then"
    assert elapsed < 0.5, f"100 updates on a 5,000-line history took {elapsed:.2f} s"

