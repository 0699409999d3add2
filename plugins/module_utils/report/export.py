# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The figures behind the report's charts and tables as CSV and JSON, and as data: URIs that the page links to,
so that they download from the page itself (it is one file, with nothing to fetch)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import csv
import io
import json
from urllib.parse import quote

from ansible_collections.virtualiron.infra.plugins.module_utils.capacity.events import format_time
# What a chart draws: CPU % as a band from its lowest to its highest and a line of its mean, memory % as a line of
# its mean; the downloads hold exactly these figures.
CHARTED = (('cpu_percent', 'min'), ('cpu_percent', 'avg'), ('cpu_percent', 'max'), ('memory_percent', 'avg'))
SERIES_COLUMNS = ('start', 'samples') + tuple('%s_%s' % pair for pair in CHARTED)
EVENT_COLUMNS = ('time', 'kind', 'server', 'source', 'destination', 'hosts', 'reason', 'figures')
# Characters kept as they are in a data: URI (quote escapes the rest as %XX): CSV and JSON stay readable.
URI_SAFE = ',:;.-_()[]{}*+!$\'@/'


def series_rows(series, time_format=format_time):
    """One row per bucket with samples: its start (ISO 8601 UTC, or as time_format gives it), its sample count, and
    the charted figures rounded to 0.1 (None where the bucket has no value)."""
    rows = []
    for index, start in enumerate(series['starts']):
        if series['counts'][index]:
            row = [time_format(start), series['counts'][index]]
            row += [_round(series[figure][stat][index]) for figure, stat in CHARTED]
            rows.append(row)
    return rows


def series_csv(series):
    return _csv(SERIES_COLUMNS, series_rows(series))


def series_json(name, host, series, bucket_seconds):
    """{'host', 'server' (None for a host), 'bucket_seconds', 'columns', 'rows'}: the CSV's figures, with each
    bucket's start in epoch seconds (numbers, where the CSV has text)."""
    return _json({'host': host, 'server': name, 'bucket_seconds': bucket_seconds, 'columns': list(SERIES_COLUMNS),
                  'rows': series_rows(series, int)})


def event_rows(events):
    return [[e['time_text'], e['kind'], e['server'], e['source'], e['destination'], e['hosts_text'], e['reason'],
             e['figures_text']] for e in events]


def events_csv(events):
    return _csv(EVENT_COLUMNS, event_rows(events))


def events_json(events):
    """The events as the log has them (figures as objects), in the order of the period."""
    return _json([{'time': e['time_text'], 'kind': e['kind'], 'server': e['server'], 'source': e['source'],
                   'destination': e['destination'], 'reason': e['reason'], 'figures': e['figures']} for e in events])


def data_uri(text, media_type):
    """A data: URI of UTF-8 text, percent-encoded (base64 would be as long and unreadable)."""
    return 'data:%s;charset=utf-8,%s' % (media_type, quote(text, safe=URI_SAFE))


def _csv(columns, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(columns)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _cell(value):
    """A CSV cell: '' for None; text that a spreadsheet would run as a formula (=, +, -, @ first) is quoted with
    a leading apostrophe, since names and reasons come from guests and users."""
    if value is None:
        return ''
    if isinstance(value, str) and value[:1] in ('=', '+', '-', '@', '\t', '\r'):
        return "'" + value
    return value


def _json(value):
    return json.dumps(value, sort_keys=True, separators=(',', ':'), allow_nan=False, default=str)


def _round(value):
    return None if value is None else round(value, 1)
