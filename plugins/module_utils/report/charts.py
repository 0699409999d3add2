# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The geometry of the report's charts: bucketed figures (report/buckets.py) as SVG coordinates, time ticks,
threshold lines and event marks, as plain data that the page's template draws. Nothing here is markup, so every
name and label reaches the page through the template's escaping."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

# Ticks of the time axis: the first spacing that gives at most MAX_TICKS of them.
TICK_SECONDS = (60, 300, 600, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
MAX_TICKS = 8
# Lines are broken where two buckets with figures are further apart than this many buckets (and intervals):
# a gap in sampling shows as a gap, not as a straight line over it.
GAP_BUCKETS = 2


class Frame(object):
    """A chart's plot area: times since..until across `width` pixels after `left`, 0..100 % up `height` pixels
    below `top`."""

    def __init__(self, since, until, width, height, left=0, top=0, digits=1):
        self.since, self.until = since, max(until, since + 1)
        self.width, self.height, self.left, self.top = width, height, left, top
        # Decimals of the coordinates: whole pixels are enough for small charts, and keep a page of many small.
        self.digits = digits

    def x(self, when):
        return round(self.left + (when - self.since) * self.width / (self.until - self.since), self.digits)

    def y(self, percent):
        percent = min(max(percent, 0.0), 100.0)
        return round(self.top + self.height * (1 - percent / 100.0), self.digits)


def segments(starts, values, seconds, gap_seconds):
    """The runs of (time, value) with values, split where consecutive ones are more than gap_seconds apart.
    Each point stands at the middle of its bucket."""
    runs, last = [], None
    for start, value in zip(starts, values):
        if value is None:
            continue
        if last is None or start - last > gap_seconds:
            runs.append([])
        runs[-1].append((start + seconds / 2.0, value))
        last = start
    return runs


def polylines(frame, runs):
    """SVG 'points' of each run (a run of one point is drawn as a short flat line, so that it shows)."""
    lines = []
    for run in runs:
        points = [(frame.x(t), frame.y(v)) for t, v in run]
        if len(points) == 1:
            (x, y), = points
            points = [(x - 1.5, y), (x + 1.5, y)]
        lines.append(' '.join('%g,%g' % point for point in points))
    return lines


def bands(frame, starts, lows, highs, seconds, gap_seconds):
    """SVG 'points' of one polygon per run: the highs left to right, then the lows back."""
    runs = segments(starts, list(zip(lows, highs)) if lows else [], seconds, gap_seconds)
    shapes = []
    for run in runs:
        upper = [(frame.x(t), frame.y(high)) for t, (_low, high) in run if high is not None]
        lower = [(frame.x(t), frame.y(low)) for t, (low, _high) in reversed(run) if low is not None]
        if len(run) == 1:
            upper = [(x - 1.5, y) for x, y in upper] + [(x + 1.5, y) for x, y in upper]
            lower = [(x + 1.5, y) for x, y in lower] + [(x - 1.5, y) for x, y in lower]
        shapes.append(' '.join('%g,%g' % point for point in upper + lower))
    return shapes


def time_ticks(frame):
    """[{'x', 'label'}] of the time axis, at round UTC times (HH:MM, with the date at midnight and for spans of
    days)."""
    span = frame.until - frame.since
    step = next((s for s in TICK_SECONDS if span / s <= MAX_TICKS), TICK_SECONDS[-1])
    first = (int(frame.since) // step + 1) * step
    ticks = []
    for when in range(first, int(frame.until) + 1, step):
        fmt = '%m-%d' if step >= 86400 else ('%m-%d %H:%M' if when % 86400 == 0 else '%H:%M')
        ticks.append({'x': frame.x(when), 'label': time.strftime(fmt, time.gmtime(when))})
    return ticks


def percent_ticks(frame, values=(0, 50, 100)):
    return [{'y': frame.y(v), 'label': '%d %%' % v} for v in values]


def threshold_lines(frame, thresholds):
    """[{'y', 'label', 'direction'}] for thresholds [{'direction', 'threshold', 'label'}]."""
    return [dict(t, y=frame.y(t['threshold'])) for t in thresholds]


def marks(frame, times):
    """x of each time inside the frame (events on a chart's time axis), without repeats."""
    return sorted(set(frame.x(t) for t in times if frame.since <= t <= frame.until))
