"""Dialog to choose the audiologist PIN: entered twice, digits only, 4-12 digits."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout

MIN_PIN_DIGITS = 4
MAX_PIN_DIGITS = 12


def pin_problem(pin: str, again: str) -> str | None:
    """Why ``pin`` / ``again`` cannot be used as a PIN, or None when it can."""
    if not pin.isdigit() or not MIN_PIN_DIGITS <= len(pin) <= MAX_PIN_DIGITS:
        return f"The PIN must be {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits."
    if pin != again:
        return "The two PINs do not match."
    return None


def _pin_field(name: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setValidator(QRegularExpressionValidator(QRegularExpression(rf"\d{{0,{MAX_PIN_DIGITS}}}")))
    field.setAccessibleName(name)
    return field


class PinDialog(QDialog):
    """Ask for a new PIN twice; ``pin()`` holds it after ``accepted``."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Set audiologist PIN")
        self.first = _pin_field("New PIN")
        self.second = _pin_field("Repeat new PIN")
        self.error = QLabel("")
        self.error.setStyleSheet("color: #cf222e; font-weight: bold;")
        self.error.setAccessibleName("PIN problem")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("New PIN:", self.first)
        form.addRow("Repeat PIN:", self.second)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Only people who know this PIN can change the fitting.\n"
                                f"Use {MIN_PIN_DIGITS}-{MAX_PIN_DIGITS} digits. The PIN itself is not stored."))
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def pin(self) -> str:
        """The PIN entered (valid once the dialog was accepted)."""
        return self.first.text()

    def accept(self) -> None:
        """Close only when both entries form a valid PIN; otherwise say why."""
        problem = pin_problem(self.first.text(), self.second.text())
        if problem:
            self.error.setText(problem)
            return
        super().accept()
