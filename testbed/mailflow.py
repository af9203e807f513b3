"""Mail keeps flowing through a rollout: a measurement, not a test.

Sets up the rollout scenario's four hosts (Molecule create, which prepares them too), frees ro-pf1's [::]:25 so
every host converts, and starts testbed/mailflow_sender.py on each: a few messages a second through
the host's own MTA over 127.0.0.1 and ::1 (once it answers), and a TCP connect to port 25 every
0.2 s. Then playbooks/rollout.yml runs over SSH as in the scenario. Afterwards every message the
MTA accepted (250 after DATA) must be in the mailbox: the rest are lost. Prints, per host, the
messages sent, accepted, refused and lost, and each stretch without a listener on port 25 (the
listener gap), and keeps the whole result in testbed/cache/mailflow.json. After the rollout,
ro-sm1's sendmail gets a SIGHUP, to measure the restart sendmail offers itself.

    make collection testbed && python3 testbed/mailflow.py
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
SCENARIO = 'rollout'
HOSTS = {'ro-sm1': 'sendmail', 'ro-sm2': 'sendmail', 'ro-pf1': 'postfix', 'ro-pf2': 'postfix'}
RESULT = REPO / 'testbed' / 'cache' / 'mailflow.json'
SETTLE = 5  # seconds of steady flow before and after the rollout


def run(argv, **kwargs):
    return subprocess.run(argv, check=True, text=True, cwd=str(REPO), **kwargs)


def podman(host, *argv, **kwargs):
    return run(['podman', 'exec', host] + list(argv), capture_output=True, **kwargs).stdout


def scenario_ssh_dir(since):
    """The SSH directory the scenario's prepare wrote (key, known hosts, inventory.yml).

    Molecule's ephemeral directory moved between releases; the inventory written since
    ``since`` is the one."""
    home = pathlib.Path.home()
    found = [path for pattern in ('.ansible/tmp/molecule.*.%s/ssh/inventory.yml' % SCENARIO,
                                  '.cache/molecule/*/%s/ssh/inventory.yml' % SCENARIO)
             for path in home.glob(pattern) if path.stat().st_mtime >= since]
    if not found:
        sys.exit('no inventory written by the %s scenario\'s prepare' % SCENARIO)
    return max(found, key=lambda path: path.stat().st_mtime).parent


# Debian's sendmail.mc limits each client's connections over ten minutes (FEATURE ratecontrol
# and conncontrol, 10 by default in its access file) and delays its greeting. The access file
# exempts "IPv6:::1", a spelling sendmail never looks up (it writes IPv6:0:0:0:0:0:0:0:1), so
# the measuring client on ::1 would get 421 after ten connections: it is exempted in sendmail's
# spelling, so the numbers show the restart alone.
EXEMPT_MEASURING_CLIENT = (
    'printf "ClientRate:IPv6:0:0:0:0:0:0:0:1 0\\nClientConn:IPv6:0:0:0:0:0:0:0:1 0\\n'
    'GreetPause:IPv6:0:0:0:0:0:0:0:1 0\\n" >> /etc/mail/access && makemap hash /etc/mail/access < /etc/mail/access')


def start_senders():
    for host, mta in HOSTS.items():
        if mta == 'sendmail':
            podman(host, 'sh', '-c', EXEMPT_MEASURING_CLIENT)
        run(['podman', 'cp', str(REPO / 'testbed' / 'mailflow_sender.py'), host + ':/usr/local/sbin/mailflow-sender'])
        podman(host, 'sh', '-c', 'id flow >/dev/null 2>&1 || useradd --create-home flow; '
                                 'rm -f /run/mailflow.stop /run/mailflow.json /var/mail/flow')
        run(['podman', 'exec', '--detach', host, 'python3', '/usr/local/sbin/mailflow-sender', '4'])


def stop_senders():
    results = {}
    for host in HOSTS:
        podman(host, 'touch', '/run/mailflow.stop')
    for host in HOSTS:
        for _attempt in range(60):
            done = subprocess.run(['podman', 'exec', host, 'cat', '/run/mailflow.json'],
                                  capture_output=True, text=True, check=False)
            if done.returncode == 0:
                results[host] = json.loads(done.stdout)
                break
            time.sleep(1)
        else:
            sys.exit('%s: the sender did not finish' % host)
    return results


def delivered(host):
    done = subprocess.run(['podman', 'exec', host, 'cat', '/var/mail/flow'], capture_output=True, text=True,
                          check=False)
    return {int(number) for number in re.findall(r'(?m)^Subject: mailflow ([0-9]+)$', done.stdout)}


def summary(host, result, rollout_began):
    accepted = {m['number'] for m in result['messages'] if m['answer'] == '250'}
    answers = {}
    for message in result['messages']:
        key = '%s %s' % (message['family'], message['answer'])
        answers[key] = answers.get(key, 0) + 1
    # Each stretch as [seconds after the rollout began, its length]; an open one has no length.
    gaps = {address: [[round(begin - rollout_began, 1), round(end - begin, 3) if end else None]
                      for begin, end in spans]
            for address, spans in result['gaps'].items()}
    return {
        'mta': HOSTS[host],
        'sent': len(result['messages']),
        'answers': answers,
        'accepted': len(accepted),
        'accepted_not_delivered': sorted(accepted - result['delivered']),
        'gaps_seconds': gaps,
        'ipv6_first_answer_after_rollout_began': (
            round(result['first_answer']['::1'] - rollout_began, 1) if '::1' in result['first_answer'] else None),
    }


def main():
    molecule = ['molecule']
    run(molecule + ['destroy', '-s', SCENARIO])
    began_setup = time.time()
    run(molecule + ['create', '-s', SCENARIO])  # its sequence includes prepare
    ssh = scenario_ssh_dir(began_setup)
    try:
        podman('ro-pf1', 'systemctl', 'disable', '--now', 'ipv6-port25-holder')
        start_senders()
        time.sleep(SETTLE)
        began = time.time()
        rollout = subprocess.run(
            ['ansible-playbook', '-i', str(ssh / 'inventory.yml'), 'playbooks/rollout.yml',
             '-e', 'dualstack_rollout_report_dir=%s' % (ssh.parent / 'report-mailflow')],
            cwd=str(REPO), capture_output=True, text=True, check=False,
            env=dict(os.environ, ANSIBLE_SSH_CONTROL_PATH_DIR=str(ssh / 'cp'), ANSIBLE_NOCOLOR='1'))
        ended = time.time()
        time.sleep(SETTLE)
        # What sendmail itself offers for a restart: SIGHUP makes the daemon execute itself anew,
        # with its own command line and the new sendmail.cf.
        hup = time.time()
        podman('ro-sm1', 'sh', '-c', 'kill -HUP "$(head -1 /run/sendmail/mta/sendmail.pid)"')
        time.sleep(SETTLE)
        results = stop_senders()
        # Delivery is local and quick; give the queues a minute to empty.
        for host in HOSTS:
            for _attempt in range(60):
                results[host]['delivered'] = delivered(host)
                accepted = {m['number'] for m in results[host]['messages'] if m['answer'] == '250'}
                if accepted <= results[host]['delivered']:
                    break
                time.sleep(1)
        report = {'rollout_rc': rollout.returncode, 'rollout_seconds': round(ended - began, 1),
                  'sendmail_hup_on_ro_sm1_at': round(hup - began, 1),
                  'hosts': {host: summary(host, results[host], began) for host in HOSTS}}
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text(json.dumps(report, indent=2) + '\n')
        print(json.dumps(report, indent=2))
        if rollout.returncode != 0:
            print(rollout.stdout[-5000:], rollout.stderr[-3000:])
            return 1
        return 0
    finally:
        run(molecule + ['destroy', '-s', SCENARIO])


if __name__ == '__main__':
    sys.exit(main())
