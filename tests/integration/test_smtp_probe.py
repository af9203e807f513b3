# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""smtp_probe against the real sendmail, in a network namespace, over both families."""

from __future__ import annotations

import pytest
from conftest import HOSTNAME, IPV4, IPV6, REQUIRES_SENDMAIL, listening, run_module, wait_for

pytestmark = REQUIRES_SENDMAIL

EVERY = ["127.0.0.1", "[::1]:25", IPV4 + ":25", IPV6]


@pytest.fixture
def sendmail(netns, mc, tmp_path, start_sendmail):
    """Debian's file, listening on every address of both families, queueing mail instead of delivering it."""
    cf = tmp_path / "sendmail.cf"
    cf.write_text("")
    result = run_module(netns, "sendmail_config", path=str(mc), cf_path=str(cf), listen="all", bindv6only=False,
                        settings=[dict(define="confDELIVERY_MODE", value="q")])
    assert not result.get("failed"), result.get("msg")
    start_sendmail(cf)
    wait_for(lambda: "*:25" in listening(netns), 30, lambda: str(listening(netns)))
    return tmp_path / "queue"


@pytest.mark.parametrize("check", [False, True], ids=["run", "check_mode"])
def test_every_address_of_both_families_answers(netns, sendmail, check):
    result = run_module(netns, "smtp_probe", check=check, targets=EVERY, helo="probe.example.test", require="all")
    assert result["ok"] and result["answered"] == 4 and not result["changed"], result
    families = [item["family"] for item in result["results"]]
    assert families == ["inet", "inet6", "inet", "inet6"]
    for item in result["results"]:
        assert item["banner_code"] == 220 and item["greeting_name"] == HOSTNAME, item
        assert item["ehlo_name"] == HOSTNAME and item["size"] and item["8bitmime"], item


def test_acceptance_is_proven_without_sending(netns, sendmail):
    result = run_module(netns, "smtp_probe", targets=["[::1]:25"], rcpt_to="postmaster@" + HOSTNAME, require="all")
    item = result["results"][0]
    assert result["ok"] and item["mail_code"] == 250 and item["rcpt_code"] == 250, item
    assert not result["changed"] and "queue_id" not in item
    assert not list(sendmail.glob("qf*"))  # nothing was queued


def test_one_probe_message_is_queued_and_its_id_returned(netns, sendmail):
    result = run_module(netns, "smtp_probe", targets=[IPV6], rcpt_to="postmaster@" + HOSTNAME, send=True,
                        require="all")
    item = result["results"][0]
    assert result["changed"] and item["data_code"] == 250 and item["queue_id"], item
    assert (sendmail / ("qf" + item["queue_id"])).exists()


def test_require_all_fails_on_a_port_where_nothing_listens(netns, sendmail):
    result = run_module(netns, "smtp_probe", targets=["127.0.0.1", "127.0.0.1:2526"], require="all", timeout=5)
    assert result.get("failed") and "127.0.0.1:2526: connection refused" in result["msg"], result
    assert result["answered"] == 1
    assert run_module(netns, "smtp_probe", targets=["127.0.0.1", "127.0.0.1:2526"], require="any")["answered"] == 1


def test_a_bad_target_is_refused_with_the_reason(netns):
    result = run_module(netns, "smtp_probe", targets=["[2001:db8::25]:99999"])
    assert result.get("failed") and "out of range" in result["msg"], result
