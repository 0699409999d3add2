# -*- coding: utf-8 -*-
# Copyright: virtualiron.infra contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ServerConverger against libvirt's in-memory test hypervisor (test:///default, domain type 'test')."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import libvirt
import pytest

from ansible_collections.virtualiron.infra.plugins.module_utils.common.connection import VirtualIronError
from ansible_collections.virtualiron.infra.plugins.module_utils.server.domain_xml import METADATA_NS
from ansible_collections.virtualiron.infra.plugins.module_utils.server.converger import ServerConverger, server_request

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
POOL_DIR = '/default-pool'   # the directory of the test hypervisor's pool 'default-pool'


@pytest.fixture
def converge(conn, params):
    """Run the converger on web1 (unless named otherwise) as the module's main() does, with --diff."""
    def run(check_mode=False, **options):
        return ServerConverger(conn, server_request(params(**dict({'name': 'web1'}, **options))), check_mode, True).run()
    return run


@pytest.fixture
def running(converge, conn):
    """web1 running with room to grow: up to 4 vCPUs and 1GiB."""
    converge(state='running', max_vcpus=4, max_memory='1GiB')
    return conn.lookupByName('web1')


def domain_names(conn):
    return sorted(d.name() for d in conn.listAllDomains())


def assert_no_domain(conn, name):
    with pytest.raises(libvirt.libvirtError) as caught:
        conn.lookupByName(name)
    assert caught.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


# ---------------------------------------------------------------- definition

def test_create_running(converge, conn):
    result = converge(state='running', nics=[{'switch': 'default'}])
    assert (result['changed'], result['changes']) == (True, ['created', 'started'])
    assert (result['reboot_required'], result['pending_changes']) == (False, [])
    server = result['server']
    assert conn.lookupByName('web1').isActive()
    assert server['uuid'] == conn.lookupByName('web1').UUIDString()
    assert {k: server[k] for k in ('state', 'hypervisor', 'vcpus', 'max_vcpus', 'memory', 'max_memory', 'boot',
                                   'disks', 'autostart', 'reboot_required', 'description', 'tags')} == {
        'state': 'running', 'hypervisor': 'test', 'vcpus': 1, 'max_vcpus': 1, 'memory': '512MiB',
        'max_memory': '512MiB', 'boot': ['disk'], 'disks': [], 'autostart': False, 'reboot_required': False,
        'description': '', 'tags': {}}
    assert (server['console']['type'], server['console']['listen'], server['console']['password_set']) == \
        ('vnc', '127.0.0.1', False)
    [nic] = server['nics']
    assert (nic['switch'], nic['bridge'], nic['model']) == ('default', None, 'virtio')
    assert nic['mac'].startswith('52:54:00:')
    assert result['diff'] == {'before': {}, 'after': server, 'before_header': 'web1', 'after_header': 'web1'}


def test_create_present_stays_stopped(converge, conn):
    result = converge(vcpus=2, memory='1GiB', description='db', tags={'role': 'db'})
    assert result['changes'] == ['created']
    assert not conn.lookupByName('web1').isActive()
    assert {k: result['server'][k] for k in ('state', 'vcpus', 'memory', 'description', 'tags')} == {
        'state': 'stopped', 'vcpus': 2, 'memory': '1GiB', 'description': 'db', 'tags': {'role': 'db'}}


@pytest.mark.parametrize('options', [
    {'state': 'running'},
    {'state': 'stopped', 'vcpus': 2, 'max_vcpus': 4, 'memory': '2GiB', 'boot': ['network', 'disk']},
    {'state': 'running', 'nics': [{'switch': 'default'}, {'bridge': 'br0', 'model': 'e1000'}]},
    {'state': 'running', 'console': 'spice', 'console_password': 'pw', 'autostart': True},
    {'console': 'none', 'description': 'db', 'tags': {'role': 'db', 'tier': 2}},
    {'memory': '1GB'},   # decimal: not a whole number of KiB
])
def test_second_run_changes_nothing(converge, options):
    converge(**options)
    result = converge(**options)
    assert (result['changed'], result['changes'], result['pending_changes']) == (False, [], [])
    assert result['diff']['before'] == result['diff']['after']


def test_foreign_server_is_left_alone(converge, conn):
    before = conn.lookupByName('test').XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    result = converge(name='test')
    assert (result['changed'], result['server']['state']) == (False, 'running')
    assert result['server']['disks'][0]['path'] == '/guest/diskimage1'
    assert conn.lookupByName('test').XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before


def test_diff(converge):
    converge(vcpus=1, description='old')
    result = converge(vcpus=2, description='new')
    assert result['changes'] == ['definition updated']
    before, after = result['diff']['before'], result['diff']['after']
    assert (before['vcpus'], before['description'], after['vcpus'], after['description']) == (1, 'old', 2, 'new')
    assert after == result['server']
    assert {k: v for k, v in before.items() if k not in ('vcpus', 'max_vcpus', 'description')} == \
        {k: v for k, v in after.items() if k not in ('vcpus', 'max_vcpus', 'description')}


def test_autostart(converge, conn):
    assert converge(autostart=True)['changes'] == ['created', 'autostart enabled']
    assert conn.lookupByName('web1').autostart() == 1
    assert converge(autostart=True)['changes'] == []
    assert converge(autostart=False)['changes'] == ['autostart disabled']
    assert conn.lookupByName('web1').autostart() == 0


def test_disk_from_a_pool_volume(converge, conn):
    conn.storagePoolLookupByName('default-pool').createXML(
        "<volume><name>web1.img</name><capacity unit='MiB'>64</capacity></volume>", 0)
    disks = [{'path': POOL_DIR + '/web1.img'}]
    result = converge(disks=disks)
    assert result['changes'] == ['created']
    assert result['server']['disks'] == [{'device': 'disk', 'path': POOL_DIR + '/web1.img', 'pool': None,
                                          'volume': None, 'format': 'raw', 'bus': 'virtio', 'cache': 'none',
                                          'target': 'vda', 'slice': None, 'live_migratable': True}]
    assert converge(disks=disks)['changes'] == []


# ---------------------------------------------------------------- check mode

def test_check_mode_on_a_new_server(converge, conn):
    result = converge(check_mode=True, state='running', vcpus=2, autostart=True)
    assert (result['changed'], result['changes']) == (True, ['created', 'autostart enabled', 'started'])
    assert {k: result['server'][k] for k in ('name', 'state', 'vcpus', 'memory', 'autostart')} == {
        'name': 'web1', 'state': 'running', 'vcpus': 2, 'memory': '512MiB', 'autostart': True}
    assert result['diff'] == {'before': {}, 'after': result['server'], 'before_header': 'web1', 'after_header': 'web1'}
    assert_no_domain(conn, 'web1')
    assert domain_names(conn) == ['test']


def test_check_mode_on_an_existing_server(converge, running):
    definition = running.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    result = converge(check_mode=True, state='stopped', vcpus=2, boot=['network'])
    assert (result['changed'], result['changes']) == (True, ['definition updated', 'stopped'])
    server = result['server']
    assert (server['state'], server['vcpus'], server['boot']) == ('stopped', 2, ['network'])
    assert (result['diff']['before']['vcpus'], result['diff']['before']['state']) == (1, 'running')
    assert sorted(server) == sorted(result['diff']['before'])   # the same fields as outside check mode
    assert running.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == definition
    assert running.isActive()


def test_check_mode_reports_what_waits_for_a_reboot(converge, running):
    result = converge(check_mode=True, state='running', vcpus=8, boot=['network'])
    assert result['pending_changes'] == ['max_vcpus', 'boot', 'vcpus above the running maximum']
    assert result['reboot_required'] is True
    assert running.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 1


# ---------------------------------------------------------------- live changes

def test_vcpus_and_memory_change_live(converge, running):
    result = converge(state='running', vcpus=3, memory='768MiB')
    assert result['changes'] == ['definition updated', 'vcpus set to 3 (live)', 'memory set to 768MiB (live)']
    assert (result['reboot_required'], result['pending_changes']) == (False, [])
    assert running.vcpusFlags(LIVE) == running.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG) == 3
    assert running.info()[2] == 768 * 1024   # KiB
    assert result['server']['reboot_required'] is False


def test_vcpus_above_the_running_maximum_wait_for_a_reboot(converge, running):
    result = converge(state='running', vcpus=6)
    assert result['changes'] == ['definition updated']
    assert result['pending_changes'] == ['max_vcpus', 'vcpus above the running maximum']
    assert result['reboot_required'] is True
    assert running.vcpusFlags(LIVE) == 1
    assert (result['server']['vcpus'], result['server']['reboot_required']) == (6, True)


def test_pending_changes_are_reported_until_the_restart(converge):
    converge(state='running')
    first = converge(state='running', boot=['network'])
    assert (first['changes'], first['pending_changes'], first['reboot_required']) == (
        ['definition updated'], ['boot'], True)
    # nothing left to change, but the running server still differs from its definition
    second = converge(state='running', boot=['network'])
    assert second['changes'] == []
    assert second['server']['reboot_required'] is True
    assert (second['reboot_required'], second['pending_changes']) == (True, ['boot'])
    restarted = converge(state='restarted', boot=['network'])
    assert restarted['changes'] == ['stopped', 'started']
    assert (restarted['reboot_required'], restarted['pending_changes']) == (False, [])
    assert restarted['server']['reboot_required'] is False


def test_description_and_tags_change_live(converge, running):
    result = converge(state='running', description='shop', tags={'role': 'web'})
    assert result['changes'] == ['definition updated', 'description, tags and capacity policy updated (live)']
    assert running.metadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, None, LIVE) == 'shop'
    assert 'name="role">web</tag>' in running.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS, LIVE)
    assert result['reboot_required'] is False


def test_failed_hot_plug_waits_for_a_reboot(converge, running):
    # the test driver cannot attach devices: the NIC is in the definition, and pending for the running server
    result = converge(state='running', nics=[{'switch': 'default'}])
    assert result['changes'] == ['definition updated']
    [pending] = result['pending_changes']
    mac = result['server']['nics'][0]['mac']
    assert pending.startswith('attach nic %s: ' % mac)
    assert 'not supported' in pending
    assert result['reboot_required'] is True


# ---------------------------------------------------------------- power

@pytest.mark.parametrize('options, changes', [
    ({}, ['stopped']),                                                 # the guest obeys the power button
    ({'force': True, 'shutdown_timeout': 0}, ['powered off']),
])
def test_stop(converge, running, options, changes):
    result = converge(state='stopped', **options)
    assert result['changes'] == changes
    assert result['server']['state'] == 'stopped'
    assert not running.isActive()


def test_stop_without_force_fails_after_the_timeout(converge, running):
    with pytest.raises(VirtualIronError, match='did not shut down within 0 s.*force: true'):
        converge(state='stopped', shutdown_timeout=0)
    assert running.isActive()


def test_suspend_and_resume(converge, running):
    assert converge(state='suspended')['changes'] == ['suspended']
    assert running.state()[0] == libvirt.VIR_DOMAIN_PAUSED
    assert converge(state='suspended')['changes'] == []
    result = converge(state='running')
    assert (result['changes'], result['server']['state']) == (['resumed'], 'running')
    assert running.state()[0] == libvirt.VIR_DOMAIN_RUNNING


def test_start_paused_in_check_mode(converge):
    # the test hypervisor cannot start a server paused (VIR_DOMAIN_START_PAUSED): only check mode here
    result = converge(check_mode=True, state='suspended')
    assert (result['changes'], result['server']['state']) == (['created', 'started paused'], 'suspended')


def test_stop_a_suspended_server(converge, running):
    converge(state='suspended')
    assert converge(state='stopped')['changes'] == ['stopped']
    assert not running.isActive()


@pytest.mark.parametrize('before, changes', [('running', ['stopped', 'started']), ('stopped', ['started'])])
def test_restarted(converge, conn, before, changes):
    converge(state=before)
    result = converge(state='restarted')
    assert result['changes'] == changes
    assert conn.lookupByName('web1').isActive()


@pytest.mark.parametrize('before, changes', [
    ('running', ['stopped', 'removed (disk files kept)']),
    ('stopped', ['removed (disk files kept)']),
])
def test_absent(converge, conn, before, changes):
    converge(state=before)
    result = converge(state='absent')
    assert (result['changed'], result['changes'], result['server']) == (True, changes, None)
    assert (result['diff']['before']['name'], result['diff']['after']) == ('web1', {})
    assert_no_domain(conn, 'web1')
    assert converge(state='absent')['changes'] == []


def test_absent_in_check_mode(converge, conn):
    converge(state='running')
    result = converge(check_mode=True, state='absent')
    assert result['changes'] == ['stopped', 'removed (disk files kept)']
    assert conn.lookupByName('web1').isActive()


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize('options, message', [
    ({'nics': [{'switch': 'default'}] * 9}, 'a virtual server has 0 to 8 NICs, got 9'),
    ({'vcpus': 0}, 'vcpus must be at least 1'),
    ({'name': 'a/b'}, 'invalid virtual server name'),
    ({'hypervisor': 'kvm'}, 'hypervisor kvm is not available on this host; it offers: test'),
    ({'disks': [{'path': POOL_DIR + '/missing.img'}]}, 'disk /default-pool/missing.img does not exist'),
    ({'state': 'running', 'disks': [{'path': '/nonexistent/dir/a.img'}]}, 'disk /nonexistent/dir/a.img does not exist'),
    ({'nics': [{'switch': 'default'}, {'switch': 'lan9'}]}, 'virtual switch lan9 does not exist on the host'),
])
def test_bad_input_defines_nothing(converge, conn, options, message):
    with pytest.raises(VirtualIronError, match=message):
        converge(**options)
    assert domain_names(conn) == ['test']


def test_bad_change_leaves_the_server_as_it_was(converge, running):
    definition = running.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    with pytest.raises(VirtualIronError, match=r'vcpus \(8\) cannot exceed max_vcpus \(2\)'):
        converge(state='running', vcpus=8, max_vcpus=2)
    assert running.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == definition


@pytest.mark.parametrize('memory', ['0', '-1GiB', 'lots'])
def test_bad_memory_is_refused_before_connecting(params, memory):
    with pytest.raises(VirtualIronError, match='memory'):
        server_request(params(name='web1', memory=memory))


# ---------------------------------------------------------------- hostile input (issue 10)

SECURE_INACTIVE = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
# Each is refused with a clear message before anything is defined or changed.
HOSTILE = [
    ({'console_listen': "127.0.0.1' autoport='no"}, r"console_listen: .* is not an IP address"),
    ({'console_listen': "fe80::1%x' autoport='no"}, 'console_listen: .* has a scope'),
    ({'console_listen': 'localhost'}, "console_listen: 'localhost' is not an IP address"),
    ({'console_listen': '0.0.0.0'}, 'the console would listen on 0.0.0.0 without a password'),
    ({'console_listen': '0::0', 'console': 'spice'}, 'the console would listen on :: without a password'),
    ({'console_password': 'a\nb'}, 'console_password must not contain control characters or line breaks'),
    ({'vcpus': 10000}, '10000 vCPUs is more than this host gives one test server \\(at most 32\\)'),
    ({'max_vcpus': 33}, '33 vCPUs is more than this host gives one test server'),
    ({'vcpus': 70000}, "at most 65535 vCPUs \\(libvirt's limit\\), got 70000"),
    ({'disks': [{'path': 'images/web1.img'}]}, "disk path must be an absolute path .*got 'images/web1.img'"),
    ({'disks': [{'path': POOL_DIR + '/../etc/web1.img'}]}, 'disk path must be an absolute path'),
    ({'disks': [{'path': '/dev/../etc/shadow', 'device': 'lun'}]}, 'lun path must be an absolute path'),
    ({'cdrom': 'install.iso'}, "cdrom path must be an absolute path .*got 'install.iso'"),
    ({'disks': [{'pool': '../etc', 'volume': 'a.img'}]}, "invalid storage pool name '../etc'"),
    ({'disks': [{'pool': 'default-pool', 'volume': '../victim.raw'}]}, "invalid volume '../victim.raw'"),
    ({'disks': [{'path': POOL_DIR + '/a.img', 'pool': 'default-pool', 'volume': 'a.img'}]}, r'\(not both\)'),
    ({'nics': [{'bridge': "br0' x"}]}, "invalid bridge name \"br0' x\""),
    ({'nics': [{'bridge': 'br0\nbr1'}]}, 'invalid bridge name'),
    ({'nics': [{'bridge': 'bridge-longer-than-15'}]}, 'invalid bridge name'),
    ({'nics': [{'switch': 'a/b'}]}, "invalid virtual switch name 'a/b'"),
    ({'nics': [{'bridge': 'br0', 'model': "virtio'/><x"}]}, 'invalid NIC model'),
    ({'nics': [{'bridge': 'br0', 'mac': '01:00:5e:00:00:01'}]}, 'MAC address 01:00:5e:00:00:01 is a multicast'),
    ({'description': 'NUL\x00here'}, 'description must not contain control characters'),
    ({'description': '\x1b[2J'}, 'description must not contain control characters'),
    ({'tags': {'a\nb': 'x'}}, 'tag name must not contain control characters or line breaks'),
    ({'tags': {'': 'x'}}, 'a tag needs a name'),
    ({'tags': {'k': 'bell\x07'}}, 'tag k must not contain control characters'),
]


@pytest.mark.parametrize('options, message', HOSTILE)
def test_hostile_input_defines_nothing(converge, conn, options, message):
    with pytest.raises(VirtualIronError, match=message):
        converge(**options)
    assert domain_names(conn) == ['test']


@pytest.mark.parametrize('options, message', HOSTILE)
def test_hostile_input_leaves_a_server_as_it_was(converge, conn, options, message):
    converge(state='running', description='before')
    dom = conn.lookupByName('web1')
    definition, live = dom.XMLDesc(SECURE_INACTIVE), dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)
    with pytest.raises(VirtualIronError, match=message):
        converge(state='running', **options)
    assert (dom.XMLDesc(SECURE_INACTIVE), dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)) == (definition, live)


@pytest.mark.parametrize('options', [
    {'console_listen': '0.0.0.0', 'console_password': 'pw'},
    {'console_listen': '::', 'console_insecure': True},
    {'console_listen': '::1'},
    {'console_listen': '127.0.0.2'},
])
def test_console_beyond_the_host_with_a_password_or_said_so(converge, conn, options):
    result = converge(**options)
    assert result['server']['console']['listen'] == options['console_listen']
    assert converge(**options)['changes'] == []


def test_an_open_console_left_as_it_is_does_not_block_other_changes(converge, conn):
    converge(console_listen='0.0.0.0', console_insecure=True)
    assert converge(vcpus=2)['changes'] == ['definition updated']
    with pytest.raises(VirtualIronError, match='without a password'):
        converge(console='spice')


def test_vcpus_up_to_the_host_maximum(converge, conn):
    assert converge(vcpus=32)['server']['max_vcpus'] == 32


def test_a_server_above_the_host_maximum_keeps_its_other_changes(converge, conn):
    """A server defined elsewhere with more vCPUs than this host gives is still managed, as long as
    the vCPUs do not change."""
    conn.defineXML("<domain type='test'><name>web1</name><memory>524288</memory><vcpu>40</vcpu>"
                   "<os><type>hvm</type></os></domain>")
    assert converge(description='moved here')['changes'] == ['definition updated']


class DomainCapabilities(object):
    """A connection whose driver has domain capabilities (as QEMU's does) with a vCPU limit of 255."""

    def __init__(self, conn):
        self._conn = conn
        self.asked = None

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def getDomainCapabilities(self, emulator, arch, machine, virttype, flags=0):
        self.asked = (emulator, arch, machine, virttype)
        return "<domainCapabilities><vcpu max='255'/></domainCapabilities>"


def test_the_vcpu_limit_comes_from_domain_capabilities(conn, params):
    host = DomainCapabilities(conn)
    request = server_request(params(name='web1', vcpus=256))
    with pytest.raises(VirtualIronError, match=r'at most 255\)'):
        ServerConverger(host, request).run()
    assert host.asked == (None, 'i686', None, 'test')
    assert ServerConverger(host, server_request(params(name='web1', vcpus=100))).run()['changes'] == ['created']


def test_a_definition_libvirt_writes_back_malformed_is_refused_clearly(converge, injected):
    with pytest.raises(VirtualIronError, match='libvirt returned XML that cannot be read .*virsh edit'):
        converge(name='injected', vcpus=2)


# ---------------------------------------------------------------- a failed task leaves nothing behind

REFUSAL = "internal error: domain 'web1' not paused"
SECURE_INACTIVE = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE


@pytest.fixture
def refuse(monkeypatch):
    """refuse(*methods): those domain methods fail with a real libvirt error. The test driver's refusal to resume a
    server that is not paused stands in for QEMU's refusal to start a server whose disk another one writes."""
    def patch(*methods):
        for method in methods:
            monkeypatch.setattr(libvirt.virDomain, method, lambda dom, *_args: dom.resume())
    return patch


@pytest.mark.parametrize('method, options', [
    ('create', {'state': 'running'}),
    ('createWithFlags', {'state': 'suspended'}),
    ('setAutostart', {'autostart': True}),
    ('XMLDesc', {'state': 'running'}),       # after it started: it is powered off too
])
def test_a_new_server_is_removed_again_when_a_later_step_fails(converge, conn, refuse, method, options):
    refuse(method)
    with pytest.raises(VirtualIronError) as caught:
        converge(**options)
    assert str(caught.value) == REFUSAL + '; server web1 was new, so its definition was removed again'
    assert domain_names(conn) == ['test']


def test_a_server_that_existed_is_kept_as_it_was_when_it_cannot_start(converge, conn, refuse):
    converge(vcpus=2)
    definition = conn.lookupByName('web1').XMLDesc(SECURE_INACTIVE)
    refuse('create')
    with pytest.raises(libvirt.libvirtError) as caught:
        converge(state='running')
    assert str(caught.value) == REFUSAL   # the error as it was, with no note
    assert conn.lookupByName('web1').XMLDesc(SECURE_INACTIVE) == definition


def test_a_new_server_that_cannot_be_removed_again_is_named(converge, conn, refuse):
    refuse('create', 'undefineFlags')
    with pytest.raises(VirtualIronError) as caught:
        converge(state='running')
    assert str(caught.value) == (REFUSAL + "; server web1 was new, but removing its definition again failed too ("
                                 + REFUSAL + '): remove it with state=absent')


def test_a_new_server_is_removed_again_on_an_unexpected_error_which_keeps_its_traceback(converge, conn, monkeypatch):
    monkeypatch.setattr(libvirt.virDomain, 'create', lambda dom: {}['bug'])
    with pytest.raises(KeyError, match='bug'):
        converge(state='running')
    assert domain_names(conn) == ['test']
