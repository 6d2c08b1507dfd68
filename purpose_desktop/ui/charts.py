"""Two small painted charts: the learning curve (run scores over time per team) and replay evidence (with vs without).

Painted with QPainter in the theme's colours: a plotting library would add a dependency and its own
look for two simple pictures.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from purpose_desktop.ui import theme


@dataclass(frozen=True)
class Point:
    """One run on the learning curve: x is its position in time order, y its final score (0–10)."""

    x: float
    y: float
    key: str  # the run id
    label: str  # tooltip text
    grounded: bool = True  # False: drawn hollow (a judge-only score, which does not teach)
    note: str = ""  # drawn as a dashed marker just before the point (e.g. "+2" memories promoted since)


class LearningCurve(QWidget):
    """Final run scores (0–10) in time order, one coloured line per team, with a rolling mean per team."""

    #: (run id) a point was clicked.
    sig_point_clicked = Signal(str)

    MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 40, 16, 28, 26

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("learningCurve")
        self.setMinimumHeight(170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(True)
        self._series: dict[str, list[Point]] = {}
        self._n = 0
        self._hover: Point | None = None
        self.empty_text = "Scores appear here once runs finish."
        self.y_max = 10.0  # the top of the scale (10 for scores, 100 for a pass rate in %)
        self.y_suffix = ""  # after each tick label ("%" for a pass rate)
        self.window = 3  # the line is the mean of the last ``window`` points (1: through the points)
        self.hollow_text = "hollow: not grounded — judge-only scores do not teach"

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(600, 200)

    def set_series(self, series: dict[str, list[Point]]) -> None:
        self._series = {k: sorted(v, key=lambda p: p.x) for k, v in series.items() if v}
        self._n = int(max((p.x for pts in self._series.values() for p in pts), default=-1)) + 1
        self._hover = None
        self.update()

    def series(self) -> dict[str, list[Point]]:
        return dict(self._series)

    # -- geometry ---------------------------------------------------------------------------------
    def _plot(self) -> QRectF:
        return QRectF(self.rect()).adjusted(
            self.MARGIN_LEFT, self.MARGIN_TOP, -self.MARGIN_RIGHT, -self.MARGIN_BOTTOM
        )

    def _to_screen(self, p: Point, plot: QRectF) -> QPointF:
        span = max(1, self._n - 1)
        x = plot.left() + (p.x / span) * plot.width() if self._n > 1 else plot.center().x()
        y = plot.bottom() - (max(0.0, min(self.y_max, p.y)) / self.y_max) * plot.height()
        return QPointF(x, y)

    def _colour(self, index: int) -> QColor:
        return QColor(theme.SERIES[index % len(theme.SERIES)])

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = self._plot()
        muted, faint = theme.color("muted"), theme.color("faint")
        small = QFont(self.font())
        small.setPointSizeF(max(7.5, self.font().pointSizeF() - 1.5))
        painter.setFont(small)
        for fraction in (0, 0.25, 0.5, 0.75, 1.0):
            score = fraction * self.y_max
            y = plot.bottom() - fraction * plot.height()
            painter.setPen(QPen(faint, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(muted)
            painter.drawText(
                QRectF(0, y - 8, self.MARGIN_LEFT - 8, 16),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                f"{score:g}{self.y_suffix}",
            )
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + 4, plot.width(), 18),
            int(Qt.AlignmentFlag.AlignLeft),
            "older",
        )
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + 4, plot.width(), 18),
            int(Qt.AlignmentFlag.AlignRight),
            "newer →",
        )
        if not self._series:
            painter.setPen(muted)
            painter.drawText(plot, int(Qt.AlignmentFlag.AlignCenter), self.empty_text)
            return
        # legend
        x = plot.left()
        for i, name in enumerate(self._series):
            colour = self._colour(i)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(x + 5, 12), 4, 4)
            painter.setPen(theme.color("text"))
            label = f"{name} ({len(self._series[name])})"
            width = painter.fontMetrics().horizontalAdvance(label)
            painter.drawText(QPointF(x + 13, 16), label)
            x += width + 30
        if any(not p.grounded for pts in self._series.values() for p in pts):
            painter.setPen(QPen(muted, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            label = self.hollow_text
            width = painter.fontMetrics().horizontalAdvance(label)
            right = plot.right() - width
            painter.drawEllipse(QPointF(right - 9, 12), 3.5, 3.5)
            painter.drawText(QPointF(right, 16), label)
        for points in self._series.values():  # notes first, so the points are drawn over them
            for j, p in enumerate(points):
                if not p.note:
                    continue
                here = self._to_screen(p, plot)
                before = self._to_screen(points[j - 1], plot) if j else QPointF(plot.left(), here.y())
                x = (before.x() + here.x()) / 2
                painter.setPen(QPen(theme.color("accent"), 1.2, Qt.PenStyle.DashLine))
                painter.drawLine(QPointF(x, plot.top() + 14), QPointF(x, plot.bottom()))
                painter.setPen(theme.color("accent"))
                width = painter.fontMetrics().horizontalAdvance(p.note)
                painter.drawText(QPointF(x - width / 2, plot.top() + 10), p.note)
        for i, (_name, points) in enumerate(self._series.items()):
            colour = self._colour(i)
            # rolling mean of the last 3 runs: the trend people care about
            if len(points) >= 2:
                path = QPainterPath()
                for j, p in enumerate(points):
                    window = [q.y for q in points[max(0, j - self.window + 1) : j + 1]]
                    pt = self._to_screen(Point(p.x, statistics.fmean(window), "", ""), plot)
                    path.moveTo(pt) if j == 0 else path.lineTo(pt)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.setPen(QPen(colour, 2.2))
                painter.drawPath(path)
            for p in points:
                radius = 5.5 if p is self._hover else 3.8
                if p.grounded:
                    painter.setPen(QPen(theme.color("base"), 1.5))
                    painter.setBrush(colour)
                else:  # hollow: a ring in the series colour round the background
                    painter.setPen(QPen(colour, 1.8))
                    painter.setBrush(theme.color("base"))
                painter.drawEllipse(self._to_screen(p, plot), radius, radius)

    # -- interaction ------------------------------------------------------------------------------
    def point_at(self, pos: QPointF, slack: float = 8.0) -> Point | None:
        plot = self._plot()
        best, best_d = None, slack * slack
        for points in self._series.values():
            for p in points:
                s = self._to_screen(p, plot)
                d = (s.x() - pos.x()) ** 2 + (s.y() - pos.y()) ** 2
                if d <= best_d:
                    best, best_d = p, d
        return best

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        p = self.point_at(event.position())
        if p is not self._hover:
            self._hover = p
            self.update()
        if p is not None:
            QToolTip.showText(event.globalPosition().toPoint(), p.label, self)
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            QToolTip.hideText()
            self.unsetCursor()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        p = self.point_at(event.position())
        if p is not None and event.button() == Qt.MouseButton.LeftButton:
            self.sig_point_clicked.emit(p.key)


class EvidenceChart(QWidget):
    """Replay evidence: each paired run's score without and with the memory, and the two means."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evidenceChart")
        self.setMinimumHeight(96)
        self.setMaximumHeight(110)
        self._without: list[float] = []
        self._with: list[float] = []

    def set_scores(self, without: list[float], with_: list[float]) -> None:
        self._without, self._with = list(without or []), list(with_ or [])
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        label_w = 64
        plot = QRectF(self.rect()).adjusted(label_w, 8, -44, -18)
        muted, faint = theme.color("muted"), theme.color("faint")
        small = QFont(self.font())
        small.setPointSizeF(max(7.5, self.font().pointSizeF() - 1.5))
        painter.setFont(small)
        for score in (0, 5, 10):
            x = plot.left() + score / 10 * plot.width()
            painter.setPen(QPen(faint, 1))
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            painter.setPen(muted)
            painter.drawText(
                QRectF(x - 10, plot.bottom() + 2, 20, 14), int(Qt.AlignmentFlag.AlignCenter), f"{score}"
            )
        rows = (("without", self._without, theme.color("muted")), ("with", self._with, theme.color("accent")))
        height = plot.height() / 2
        for i, (name, scores, colour) in enumerate(rows):
            top = plot.top() + i * height
            centre = top + height / 2
            painter.setPen(theme.color("text"))
            painter.drawText(
                QRectF(0, top, label_w - 8, height),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                name,
            )
            if not scores:
                continue
            mean = statistics.fmean(scores)
            bar = QRectF(plot.left(), centre - height * 0.28, mean / 10 * plot.width(), height * 0.56)
            fill = QColor(colour)
            fill.setAlpha(70)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(bar, 3, 3)
            painter.setBrush(colour)
            for s in scores:
                painter.drawEllipse(
                    QPointF(plot.left() + max(0, min(10, s)) / 10 * plot.width(), centre), 3.2, 3.2
                )
            painter.setPen(theme.color("text"))
            painter.drawText(
                QRectF(plot.right() + 6, top, 40, height),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                f"{mean:.1f}",
            )


class Sparkline(QWidget):
    """A memory's utility over its credited runs (0–1), oldest to newest, as a small line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sparkline")
        self.setFixedHeight(36)
        self.setMinimumWidth(120)
        self._values: list[float] = []

    def set_values(self, values: list[float]) -> None:
        self._values = [max(0.0, min(1.0, float(v))) for v in values]
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = QRectF(self.rect()).adjusted(3, 4, -3, -4)
        painter.setPen(QPen(theme.color("faint"), 1))
        mid = plot.top() + plot.height() / 2
        painter.drawLine(QPointF(plot.left(), mid), QPointF(plot.right(), mid))
        values = self._values
        if not values:
            return
        step = plot.width() / max(1, len(values) - 1)
        points = [
            QPointF(
                plot.left() + i * step if len(values) > 1 else plot.center().x(),
                plot.bottom() - v * plot.height(),
            )
            for i, v in enumerate(values)
        ]
        path = QPainterPath(points[0])
        for p in points[1:]:
            path.lineTo(p)
        painter.setPen(QPen(theme.color("accent"), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        painter.setBrush(theme.color("accent"))
        painter.drawEllipse(points[-1], 3, 3)
