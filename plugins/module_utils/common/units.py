# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes and durations in the user's words ("512MiB", "2GiB", "10G"; "90s", "10m") to bytes and seconds, and back."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import re
from fractions import Fraction

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError

# Single letters are binary, as in qemu-img and LVM; "KB", "MB"... are decimal (SI).
_MULTIPLIERS = {
    'b': 1, 'bytes': 1,
    'k': 1024, 'kib': 1024, 'kb': 1000,
    'm': 1024 ** 2, 'mib': 1024 ** 2, 'mb': 1000 ** 2,
    'g': 1024 ** 3, 'gib': 1024 ** 3, 'gb': 1000 ** 3,
    't': 1024 ** 4, 'tib': 1024 ** 4, 'tb': 1000 ** 4,
}
# Bounded digits: Python refuses to read integers of thousands of digits (with an error of its own).
_SIZE_RE = re.compile(r'\s*(-?\d{1,30}(?:\.\d{1,30})?)\s*([a-zA-Z]*)\s*', re.ASCII)
# QEMU, libvirt and the kernel's file offsets hold sizes in a signed 64-bit integer.
MAX_SIZE = 2 ** 63 - 1
_DURATION_RE = re.compile(r'\s*(\d{1,12}(?:\.\d{1,9})?)\s*([a-z]*)\s*', re.ASCII | re.IGNORECASE)
_DURATION_UNITS = {'': 1, 's': 1, 'sec': 1, 'm': 60, 'min': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}


def parse_size(value, what, default_unit='MiB'):
    """Return a size in bytes; a bare number is in default_unit, a fraction of a byte is dropped. Refuse zero,
    negative, more than MAX_SIZE and unknown units."""
    match = _SIZE_RE.fullmatch(str(value))
    if not match:
        raise VirtualIronError('%s: cannot read %r as a size; write it like "512MiB" or "2GiB"' % (what, value))
    number, unit = Fraction(match.group(1)), (match.group(2) or default_unit).lower()
    if unit not in _MULTIPLIERS:
        raise VirtualIronError('%s: unknown unit %r in %r; use B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB)'
                               % (what, match.group(2), value))
    size = int(number * _MULTIPLIERS[unit])
    if size <= 0:
        raise VirtualIronError('%s must be greater than zero, got %r' % (what, value))
    if size > MAX_SIZE:
        raise VirtualIronError('%s: %r is more than %d bytes, the most QEMU and libvirt can hold' % (what, value, MAX_SIZE))
    return size


def unit_multiplier(unit):
    """Bytes in one unit, as libvirt and qemu-img spell units (case-insensitive)."""
    try:
        return _MULTIPLIERS[unit.lower()]
    except KeyError:
        raise VirtualIronError('unknown size unit %r' % unit)


def format_size(size):
    """The largest binary unit that divides the size exactly: 536870912 -> '512MiB'; 0 -> '0B'."""
    if not size:
        return '0B'
    for unit in ('TiB', 'GiB', 'MiB', 'KiB'):
        multiplier = _MULTIPLIERS[unit.lower()]
        if size % multiplier == 0:
            return '%d%s' % (size // multiplier, unit)
    return '%dB' % size


def parse_duration(value, what='duration'):
    """Seconds (a float) from a number of seconds or a string such as '90', '30s', '10m', '2h', '1d', '1w';
    refuse zero, negative and unknown units."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        seconds = float(value)
    else:
        match = _DURATION_RE.fullmatch(value) if isinstance(value, str) else None
        unit = match.group(2).lower() if match else None
        if unit not in _DURATION_UNITS:
            raise VirtualIronError('%s: cannot read %r as a duration; write it like "90" (seconds), "10m", "2h" or '
                                   '"1d"' % (what, value))
        seconds = float(match.group(1)) * _DURATION_UNITS[unit]
    if seconds <= 0:
        raise VirtualIronError('%s must be longer than zero, got %r' % (what, value))
    return seconds
