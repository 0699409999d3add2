# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.common.units import format_size, parse_duration, parse_size

KiB, MiB, GiB, TiB = 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4


@pytest.mark.parametrize('value, expected', [
    ('512MiB', 512 * MiB),
    ('2GiB', 2 * GiB),
    ('1TiB', TiB),
    ('64KiB', 64 * KiB),
    ('4096B', 4096),
    ('2gib', 2 * GiB),          # units are case-insensitive
    (' 2 GiB ', 2 * GiB),       # blanks around and between
    ('1.5GiB', 3 * 512 * MiB),
    # single letters are binary, two-letter SI units decimal
    ('10G', 10 * GiB),
    ('3M', 3 * MiB),
    ('8K', 8 * KiB),
    ('1T', TiB),
    ('1GB', 10 ** 9),
    ('500MB', 500 * 10 ** 6),
    ('2KB', 2000),
    ('1TB', 10 ** 12),
    # a bare number is in the default unit
    ('512', 512 * MiB),
    (512, 512 * MiB),
    ('0.5', MiB // 2),
])
def test_parse_size(value, expected):
    assert parse_size(value, 'memory') == expected


def test_parse_size_default_unit():
    assert parse_size('4', 'size', default_unit='GiB') == 4 * GiB
    assert parse_size('4MiB', 'size', default_unit='GiB') == 4 * MiB


@pytest.mark.parametrize('value, message', [
    ('0', 'memory must be greater than zero'),
    ('0GiB', 'memory must be greater than zero'),
    ('0.1B', 'memory must be greater than zero'),   # rounds down to no byte at all
    ('-1GiB', 'memory must be greater than zero'),
    ('lots', 'memory: cannot read'),
    ('', 'memory: cannot read'),
    ('1e3', 'memory: cannot read'),
    ('GiB', 'memory: cannot read'),
    ('1 2GiB', 'memory: cannot read'),
    ('10XB', "memory: unknown unit 'XB'"),
    ('2GIG', "memory: unknown unit 'GIG'"),
    # beyond what a float or a 64-bit size holds: never infinity, an overflow or a huge allocation
    ('1' + '0' * 400 + 'TiB', 'memory: cannot read'),
    ('9' * 30, 'memory: .* is more than 9223372036854775807 bytes'),
    ('8388608TiB', 'memory: .* is more than 9223372036854775807 bytes'),
    ('1e999', 'memory: cannot read'),
    ('nan', 'memory: cannot read'),
    ('inf', 'memory: cannot read'),
    (u'\u0661\u0662MiB', 'memory: cannot read'),    # digits of another script
])
def test_parse_size_refuses(value, message):
    with pytest.raises(VirtualIronError, match=message) as caught:
        parse_size(value, 'memory')
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize('value, expected', [
    ('9007199254740993B', 9007199254740993),        # a float would make it ...992
    ('8388607.99999999999999TiB', 8388607 * TiB + TiB - 1),
    ('9223372036854775807B', 2 ** 63 - 1),
])
def test_parse_size_is_exact(value, expected):
    assert parse_size(value, 'size') == expected


@pytest.mark.parametrize('size, text', [
    (512 * MiB, '512MiB'),
    (2 * GiB, '2GiB'),
    (3 * TiB, '3TiB'),
    (1536 * MiB, '1536MiB'),
    (4 * KiB, '4KiB'),
    (1536, '1536B'),
    (10 ** 9, '1000000000B'),
])
def test_format_size(size, text):
    assert format_size(size) == text
    assert parse_size(text, 'size') == size


@pytest.mark.parametrize('text', ['1GiB', '1536MiB', '700KiB', '5B', '2TiB'])
def test_parse_then_format_is_identity(text):
    assert format_size(parse_size(text, 'size')) == text


@pytest.mark.parametrize('value, seconds', [
    (90, 90.0), (2.5, 2.5), ('90', 90.0), ('30s', 30.0), ('10m', 600.0), ('10 min', 600.0), ('2h', 7200.0),
    ('1.5h', 5400.0), ('1d', 86400.0), ('1W', 604800.0), (' 5m ', 300.0),
])
def test_parse_duration(value, seconds):
    assert parse_duration(value, 'window') == seconds


@pytest.mark.parametrize('value, message', [
    ('10y', "window: cannot read '10y' as a duration"),
    ('1h30m', "window: cannot read '1h30m' as a duration"),
    ('', "window: cannot read '' as a duration"),
    (None, 'window: cannot read None as a duration'),
    (True, 'window: cannot read True as a duration'),
    ('-5m', "window: cannot read '-5m' as a duration"),
    (0, 'window must be longer than zero, got 0'),
    ('0s', "window must be longer than zero, got '0s'"),
    (-1, 'window must be longer than zero, got -1'),
    (float('nan'), 'window: cannot read nan as a duration'),
    (float('inf'), 'window: cannot read inf as a duration'),
])
def test_parse_duration_refuses(value, message):
    with pytest.raises(VirtualIronError, match=message):
        parse_duration(value, 'window')
