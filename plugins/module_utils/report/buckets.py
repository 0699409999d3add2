# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The utilization history of a period in a bounded number of points per chart: samples put in buckets of equal
length (aligned to the epoch, so that two reports of the same day share their buckets), each bucket with the
number of samples and the lowest, mean and highest value of each charted figure. A day of one-minute samples is
1,440 points a server; a chart shows a few hundred pixels, so it gets at most max_points buckets."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

# Figures the report charts and exports, each as min, avg and max per bucket.
FIGURES = ('cpu_percent', 'memory_percent')
STATS = ('min', 'avg', 'max')
# Bucket lengths people read easily; the shortest that keeps a chart within max_points is taken.
NICE_SECONDS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def bucket_seconds(span, max_points, interval=0):
    """The bucket length for a period of span seconds: at least span / max_points (the chart's bound) and at least
    the sampling interval (a shorter bucket would leave every other one empty)."""
    if not span > 0 or not max_points >= 1:
        raise ValueError('bucket_seconds needs a span above 0 and at least one point, got %r and %r' % (span, max_points))
    wanted = max(span / max_points, interval or 0)
    nice = next((s for s in NICE_SECONDS if s >= wanted), None)
    return nice or 86400 * math.ceil(wanted / 86400)


def sampling_interval(times):
    """The usual time between samples: the median gap between the distinct sample times (0 with fewer than two).
    A report's samples of many hosts come in rounds at about the same time; the median skips the gaps of outages."""
    distinct = sorted(set(round(t) for t in times))
    gaps = sorted(b - a for a, b in zip(distinct, distinct[1:]))
    return gaps[len(gaps) // 2] if gaps else 0


def bucket_series(samples, since, until, seconds):
    """{(host, server): series} of the samples with since <= time <= until, in buckets of `seconds` aligned to
    the epoch. A series: {'starts': [bucket start, epoch s], 'counts': [samples], 'last': the latest sample,
    figure: {'min': [...], 'avg': [...], 'max': [...], 'sum': total, 'count': samples with it}}; a bucket
    without a value of a figure has None there."""
    first = math.floor(since / seconds) * seconds
    size = max(1, int(math.ceil((until - first) / seconds)) or 1)
    series = {}
    for sample in samples:
        index = int((sample['time'] - first) // seconds)
        if not 0 <= index < size or not since <= sample['time'] <= until:
            continue
        entry = series.get((sample['host'], sample['server']))
        if entry is None:
            entry = series[sample['host'], sample['server']] = _empty(size)
        entry['counts'][index] += 1
        if entry['last'] is None or sample['time'] >= entry['last']['time']:
            entry['last'] = sample
        for figure in FIGURES:
            _add(entry[figure], index, sample.get(figure))
    starts = [first + i * seconds for i in range(size)]
    for entry in series.values():
        entry['starts'] = starts
        for figure in FIGURES:
            _finish(entry[figure])
    return series


def _empty(size):
    entry = {'counts': [0] * size, 'last': None}
    for figure in FIGURES:
        entry[figure] = {'min': [None] * size, 'max': [None] * size, 'avg': [0.0] * size, 'n': [0] * size}
    return entry


def _add(figure, index, value):
    if value is None:
        return
    low, high = figure['min'][index], figure['max'][index]
    figure['min'][index] = value if low is None or value < low else low
    figure['max'][index] = value if high is None or value > high else high
    figure['avg'][index] += value  # a sum until _finish
    figure['n'][index] += 1


def _finish(figure):
    """Sums to means; the figure's total and count over the period, for its summary (the mean of all its samples,
    not of its buckets' means)."""
    counts = figure.pop('n')
    figure['sum'], figure['count'] = math.fsum(figure['avg']), sum(counts)
    figure['avg'] = [total / n if n else None for total, n in zip(figure['avg'], counts)]


def summary(series, figure):
    """{'avg', 'min', 'max', 'last'} of a figure over the whole period (None where it has no value)."""
    values = series[figure]
    known_min = [v for v in values['min'] if v is not None]
    known_max = [v for v in values['max'] if v is not None]
    return {'avg': values['sum'] / values['count'] if values['count'] else None,
            'min': min(known_min) if known_min else None, 'max': max(known_max) if known_max else None,
            'last': series['last'].get(figure) if series['last'] else None}
