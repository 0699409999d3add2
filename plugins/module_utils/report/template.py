# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Jinja2 template of the report's page (a Python string, so that it travels with the module). Autoescaping is
on and nothing is marked safe: every name, reason and figure is escaped where it lands, in text and attributes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

TEMPLATE = r'''<!DOCTYPE html>
{% macro num(value) %}{{ '' if value is none else '%.1f' % value }}{% endmacro %}
{% macro figures(entry) %} data-samples="{{ entry.samples }}" data-cpu-avg="{{ num(entry.summary.cpu_percent.avg) }}"
data-cpu-max="{{ num(entry.summary.cpu_percent.max) }}" data-memory-avg="{{ num(entry.summary.memory_percent.avg) }}"
data-memory-max="{{ num(entry.summary.memory_percent.max) }}"{% endmacro %}
{% macro svg_chart(c, label, small) %}
<svg class="chart{{ ' small' if small }}" width="{{ c.width }}" height="{{ c.height }}" viewBox="0 0 {{ c.width }} {{ c.height }}" role="img"
aria-label="{{ label }}">
<rect class="plot" x="{{ c.plot.x }}" y="{{ c.plot.y }}" width="{{ c.plot.width }}" height="{{ c.plot.height }}"/>
{% for t in c.yticks %}<line class="grid" x1="{{ c.plot.x }}" x2="{{ c.plot.x + c.plot.width }}" y1="{{ t.y }}" y2="{{ t.y }}"/>{% if not small %}
<text class="ytick" x="{{ c.plot.x - 4 }}" y="{{ t.y + 4 }}">{{ t.label }}</text>{% endif %}
{% endfor %}
{% if not small %}{% for t in c.xticks %}<line class="grid" x1="{{ t.x }}" x2="{{ t.x }}" y1="{{ c.plot.y }}" y2="{{ c.plot.y + c.plot.height }}"/>
<text class="xtick" x="{{ t.x }}" y="{{ c.plot.y + c.plot.height + 14 }}">{{ t.label }}</text>
{% endfor %}{% endif %}
{% for points in c.band %}<polygon class="band" points="{{ points }}"/>{% endfor %}
{% for points in c.memory %}<polyline class="memory" points="{{ points }}"/>{% endfor %}
{% for points in c.cpu %}<polyline class="cpu" points="{{ points }}"/>{% endfor %}
{% for t in c.thresholds %}<line
class="threshold {{ t.direction }}" x1="{{ c.plot.x }}" x2="{{ c.plot.x + c.plot.width }}" y1="{{ t.y }}" y2="{{ t.y }}"><title>{{ t.label }}</title>
</line>{% if not small %}<text class="threshold-label {{ t.direction }}" x="{{ c.plot.x + c.plot.width - 4 }}" y="{{ t.y - 3 }}">{{ t.label }}</text>
{% endif %}
{% endfor %}
{% for x in c.marks %}<line class="mark" x1="{{ x }}" x2="{{ x }}" y1="{{ c.plot.y }}" y2="{{ c.plot.y + c.plot.height }}"/>{% endfor %}
</svg>
{% endmacro %}
{% macro links(d) %}{% if d %}<span class="downloads"><a download="{{ d.csv_name }}" href="{{ d.csv }}">CSV</a> <a download="{{ d.json_name }}"
href="{{ d.json }}">JSON</a></span>{% endif %}{% endmacro %}
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="virtualiron.infra report">
<meta name="virtualiron-report-digest" content="{{ digest }}">
<title>{{ report.title }}</title>
<style>
:root{--cpu:#2563eb;--band:rgba(37,99,235,.18);--mem:#16a34a;--more:#dc2626;--less:#d97706;--mark:#7c3aed;--line:#d4d4d8;--muted:#52525b}
*{box-sizing:border-box}body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#18181b;background:#fafafa}
header{background:#1e293b;color:#f8fafc;padding:14px 24px}header h1{margin:0 0 4px;font-size:22px}header p{margin:0;color:#cbd5e1}
header nav a{color:#93c5fd;margin-right:14px}main{padding:8px 24px 32px;max-width:1400px}
h2{margin:26px 0 8px;font-size:18px;border-bottom:2px solid var(--line);padding-bottom:4px}h3{margin:0;font-size:16px}
table{border-collapse:collapse;background:#fff;font-size:13px}th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f5}#event-table td:first-child{white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums}.empty{color:var(--muted);font-style:italic}
.chip{display:inline-block;border:1px solid var(--line);border-radius:9px;padding:0 7px;margin:1px 2px;background:#fff;font-size:12px}
.state-running{border-color:#86efac}.state-stopped{color:var(--muted)}.state-crashed,.down{border-color:#fca5a5;color:#b91c1c}
.host{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 12px;margin:12px 0}
.host-head{display:flex;gap:16px;align-items:baseline;flex-wrap:wrap}.figs{color:var(--muted);font-size:13px}
.servers{display:flex;flex-wrap:wrap;gap:8px;margin-top:8px}.server{margin:0;border:1px solid #e4e4e7;border-radius:4px;padding:3px 4px;width:234px}
.server figcaption{font-size:12px}.server figcaption b{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.downloads a{font-size:12px;margin-left:4px}.legend span{margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:4px}
svg.chart{display:block}svg text{font-size:11px;fill:var(--muted)}.plot{fill:#fff;stroke:var(--line)}.grid{stroke:#f0f0f2}
.ytick{text-anchor:end}.xtick{text-anchor:middle}.band{fill:var(--band);stroke:none}
.cpu{fill:none;stroke:var(--cpu);stroke-width:1.5}.memory{fill:none;stroke:var(--mem);stroke-width:1.2}
.threshold{stroke-dasharray:5 3;stroke-width:1.2}.threshold.more{stroke:var(--more)}.threshold.less{stroke:var(--less)}
.threshold-label{text-anchor:end}.threshold-label.more{fill:var(--more)}.threshold-label.less{fill:var(--less)}
.mark{stroke:var(--mark);stroke-width:1;stroke-dasharray:2 2}.lane-name{text-anchor:end;fill:#18181b}
.event{fill:var(--mark)}.event.failed{fill:var(--more)}.lane{stroke:#f0f0f2}tr.failed td{background:#fef2f2}
.note{background:#fef9c3;border:1px solid #fde047;padding:6px 10px;border-radius:4px}.reason{max-width:560px}
.figures-text{font-family:ui-monospace,monospace;font-size:11px;color:var(--muted);max-width:360px;word-break:break-all}
</style>
</head>
<body>
<header>
<h1>{{ report.title }}</h1>
<p>Generated <time
id="generated">{{ report.generated }}</time> &middot; period {{ report.window.since_text }} to {{ report.window.until_text }} ({{
report.window.seconds | seconds }}) &middot;
<span id="counts" data-hosts="{{ report.counts.hosts }}" data-servers="{{ report.counts.servers }}" data-samples="{{ report.counts.samples }}"
data-events="{{ report.counts.events }}">{{ report.counts.hosts }} hosts, {{ report.counts.servers }} servers, {{ report.counts.samples }}
samples, {{ report.counts.events }} events</span></p>
<nav><a href="#rack">The rack now</a><a href="#utilization">Utilization</a><a href="#events">Events</a></nav>
</header>
<main>
{% for note in report.notes %}<p class="note">{{ note }}</p>{% endfor %}
<section id="rack">
<h2>The rack now</h2>
{% if not report.rack_read %}
<p
class="empty">The rack was not read for this report (no hosts to connect to were given): hosts and servers below come from the utilization history alone.</p>
{% elif not report.hosts %}
<p class="empty">No hosts.</p>
{% else %}
<table>
<thead><tr><th>Host</th><th>State</th><th>Maintenance</th><th>CPUs</th><th>Memory</th><th>Servers running / defined</th><th>vCPU overcommit</th>
<th>Memory overcommit</th><th>CPU % (last sample)</th><th>Memory % (last sample)</th></tr></thead>
<tbody>
{% for host in report.hosts if host.now %}
<tr class="rack-host" data-host="{{ host.name }}">
<td><a href="#host-{{ loop.index }}">{{ host.name }}</a></td>
{% if host.now.error %}<td class="down" colspan="7">unreachable: {{ host.now.error }}</td>
{% else %}
<td>up</td>
<td>
{% if host.now.maintenance and host.now.maintenance.maintenance %}in maintenance{% if host.now.maintenance.reason %}: {{
host.now.maintenance.reason }}{% endif %}{% if host.now.maintenance.since %} (since {{ host.now.maintenance.since }}){% endif %}{% else %}no{% endif %}</td>
<td class="n">{{ host.now.cpus }}</td><td class="n">{{ host.now.memory_bytes | size }}</td>
<td class="n">{{ host.now.load.servers_running }} / {{ host.now.load.servers_defined }}</td>
<td class="n">{{ host.now.load.vcpu_overcommit }}</td><td class="n">{{ host.now.load.memory_overcommit }}</td>
{% endif %}
<td class="n">{{ host.summary.cpu_percent.last | pct }}</td><td
class="n">{{ host.summary.memory_percent.last | pct }}</td>
</tr>
<tr><td></td><td colspan="9">{% for s in host.servers if s.now %}<span class="chip state-{{ s.now.state }}"
title="{{ s.now.state }}, {{ s.now.vcpus }} vCPU, {{ s.now.memory_bytes | size }}">{{ s.name }} &middot; {{ s.now.state }}</span>{% else %}<span
class="empty">no servers</span>{% endfor %}</td></tr>
{% endfor %}
</tbody>
</table>
{% endif %}
</section>
<section id="utilization">
<h2>Utilization</h2>
<p class="legend"><span><i style="background:var(--cpu)">
</i>CPU % (mean of each {{ report.bucket_seconds.host | seconds }} on hosts, {{ report.bucket_seconds.server | seconds }} on servers)</span><span><i
style="background:var(--band);height:10px"></i>CPU % lowest to highest</span><span><i style="background:var(--mem)"></i>memory % (mean)</span><span><i
style="background:var(--more)"></i>policy: more capacity above</span><span><i style="background:var(--less)"></i>policy: less capacity below</span>
<span><i style="background:var(--mark)"></i>migration</span></p>
{% if not report.hosts %}
<p class="empty"
id="no-samples">No samples in this period{% if not report.rack_read %} and no hosts were read{% endif %}. Record samples with
virtualiron.infra.utilization (for example playbooks/live_capacity.yml on a schedule), then make the report again.</p>
{% endif %}
{% for host in report.hosts %}
{% set hv = view.hosts[loop.index0] %}
<article class="host" id="host-{{ loop.index }}" data-host="{{ host.name }}"{{ figures(host) }}>
<div class="host-head"><h3>{{ host.name }}</h3>
<span class="figs">
{% if host.samples %}CPU % mean {{ host.summary.cpu_percent.avg | pct }}, highest {{ host.summary.cpu_percent.max | pct }} &middot; memory %
mean {{ host.summary.memory_percent.avg | pct }} &middot; {{ host.samples }} samples{% else %}no samples of this host in the period{% endif %}</span>
{{ links(hv.downloads) }}</div>
{% if hv.chart %}{{ svg_chart(hv.chart, 'CPU and memory of host ' ~ host.name, false) }}{% endif %}
{% if host.policy_error %}<p class="down">Policy: {{ host.policy_error }}</p>{% endif %}
<div class="servers">
{% for s in host.servers %}
{% set sv = hv.servers[loop.index0] %}
<figure class="server" data-host="{{ host.name }}" data-server="{{ s.name }}"{{ figures(s) }}>
<figcaption><b title="{{ s.name }}">{{ s.name }}</b><span>
{% if s.samples %}{{ s.summary.cpu_percent.avg | pct }} / {{ s.summary.cpu_percent.max | pct }}{% else %}no samples{% endif %}{{
links(sv.downloads) }}</span></figcaption>
{% if sv.chart %}{{ svg_chart(sv.chart, 'CPU and memory of server ' ~ s.name, true) }}{% endif %}
<div class="figs" title="{% for t in s.thresholds %}{{ t.label }}{{ '; ' if not loop.last }}{% endfor %}">{% if s.policy_error %}<span
class="down">policy unreadable</span>{% elif s.thresholds %}policy
{% for t in s.thresholds %}{{ 'CPU' if t.metric == 'cpu_percent' else 'mem' }} {{ '>' if t.direction == 'more' else '<' }} {{ '%g' %
t.threshold }} %{{ ', ' if not loop.last }}{% endfor %}{% else %}no policy{% endif %}{% if s.now %} &middot; {{ s.now.state }}{% endif %}</div>
</figure>
{% endfor %}
</div>
</article>
{% endfor %}
</section>
<section id="events">
<h2>Events</h2>
{% if not report.events %}
<p class="empty" id="no-events">No events in this period.</p>
{% else %}
<p class="downloads">All {{ report.events | length }} events of the period: <a download="events.csv" href="{{ view.events_csv }}">CSV</a> <a
download="events.json" href="{{ view.events_json }}">JSON</a></p>
{% set tl = view.timeline %}
<svg class="timeline" width="{{ tl.width }}" height="{{ tl.height }}" viewBox="0 0 {{ tl.width }} {{ tl.height }}" role="img"
aria-label="Events on a timeline">
{% for lane in tl.lanes %}<line class="lane" x1="{{ tl.left }}" x2="{{ tl.right }}" y1="{{ lane.y }}" y2="{{ lane.y }}"/><text class="lane-name"
x="{{ tl.left - 8 }}" y="{{ lane.y + 4 }}">{{ lane.name }}</text>
{% endfor %}
{% for t in tl.xticks %}<text class="xtick" x="{{ t.x }}" y="{{ t.y + 14 }}">{{ t.label }}</text>{% endfor %}
{% for m in tl.marks %}<circle class="event{{ ' failed' if m.failed }}" cx="{{ m.x }}" cy="{{ m.y }}" r="{{ 4 if m.count == 1 else 6 }}">
<title>{{ m.title }}</title></circle>
{% endfor %}
</svg>
<p class="figs">{% for lane in report.lanes %}{{ lane.name }}: {{ lane.count }}{{ ' · ' if not loop.last }}{% endfor %}</p>
<table id="event-table">
<thead><tr><th>Time (UTC)</th><th>Kind</th><th>Server</th><th>Hosts</th><th>Outcome</th><th>Reason</th><th>Figures</th></tr></thead>
<tbody>
{% set shown = report.events[-table_events:] %}
{% for e in shown | reverse %}
<tr class="event-row{{ ' failed' if e.failed }}" data-kind="{{ e.kind }}"><td>{{ e.time_text }}</td><td>{{ e.kind }}</td>
<td>{{ e.server if e.server is not none else '' }}</td><td>{{ e.hosts_text }}</td><td>{{ e.highlights | join(', ') }}</td><td
class="reason">{{ e.reason }}</td><td class="figures-text">{{ e.figures_text }}</td></tr>
{% endfor %}
</tbody>
</table>
{% if report.events | length > shown | length %}<p
class="figs">The latest {{ shown | length }} of {{ report.events | length }} events; all of them are in the CSV and JSON.</p>{% endif %}
{% endif %}
</section>
</main>
</body>
</html>
'''
