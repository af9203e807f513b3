"""Mail at a steady rate through a host's own MTA while it is rolled out, and its port 25 watched.

Runs on the mail host (standard library only) until STOP exists, then writes RESULT:
  - every message: when, over which family, and the answer to DATA ("250" when accepted);
  - every stretch in which nobody listened on 127.0.0.1:25 (connection refused), from a
    TCP connect every POLL seconds;
  - when [::1]:25 first answered, and stretches without a listener there after that.
Messages go to the local user flow, with "Subject: mailflow N", so delivery can be counted.
"""
import json
import os
import smtplib
import socket
import sys
import threading
import time

STOP = '/run/mailflow.stop'
RESULT = '/run/mailflow.json'
# sendmail defers a daemon's connections above its ConnectionRateThrottle (15 a second on the
# roles' hosts) by closing its socket: the watch and the messages stay well below it together.
POLL = 0.2
RATE = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
FAMILIES = (('ipv4', '127.0.0.1'), ('ipv6', '::1'))


def listening(address):
    try:
        with socket.create_connection((address, 25), timeout=1):
            return True
    except OSError:
        return False


def watch(address, gaps, first_answer):
    """Record each stretch without a listener on address, once it has answered."""
    down_since = None
    while not os.path.exists(STOP):
        now = time.time()
        if listening(address):
            first_answer.setdefault(address, now)
            if down_since is not None:
                gaps.append([down_since, now])
                down_since = None
        elif address in first_answer and down_since is None:
            down_since = now
        time.sleep(POLL)
    if down_since is not None:
        gaps.append([down_since, None])


def send(messages):
    number = 0
    while not os.path.exists(STOP):
        began = time.time()
        family, address = FAMILIES[number % 2]
        answer = None
        try:
            with smtplib.SMTP(address, 25, timeout=10) as smtp:
                smtp.ehlo('flow.localhost')
                smtp.mail('flow@localhost')
                smtp.rcpt('flow@localhost')
                code, _text = smtp.data('Subject: mailflow %d\r\n\r\nmessage %d\r\n' % (number, number))
                answer = str(code)
        except smtplib.SMTPResponseException as error:
            answer = str(error.smtp_code)
        except (OSError, smtplib.SMTPException) as error:
            answer = type(error).__name__
        messages.append({'number': number, 'family': family, 'at': began, 'answer': answer})
        number += 1
        time.sleep(max(0.0, 1.0 / RATE - (time.time() - began)))


def main():
    messages, first_answer = [], {}
    gaps = {address: [] for _family, address in FAMILIES}
    threads = [threading.Thread(target=send, args=(messages,))]
    threads += [threading.Thread(target=watch, args=(address, gaps[address], first_answer))
                for _family, address in FAMILIES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(RESULT + '.part', 'w') as out:
        json.dump({'messages': messages, 'gaps': gaps, 'first_answer': first_answer}, out)
    os.rename(RESULT + '.part', RESULT)


if __name__ == '__main__':
    main()
