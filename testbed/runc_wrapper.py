"""runc without rlimits: for hosts whose podman lacks CAP_SYS_RESOURCE.

podman always writes RLIMIT_NOFILE/RLIMIT_NPROC into the OCI spec, and setting them fails
with "operation not permitted" where the calling process cannot raise limits. This drops
process.rlimits from the spec runc is given, then runs the real runc unchanged.
"""
import json
import os
import sys

REAL_RUNC = "/usr/sbin/runc"


def option(args, *names):
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def strip_rlimits(path):
    try:
        with open(path, encoding="utf-8") as handle:
            spec = json.load(handle)
    except (OSError, ValueError):
        return
    process = spec.get("process", spec)  # --process files hold the process object itself
    if process.pop("rlimits", None) is not None:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(spec, handle)


def main():
    args = sys.argv[1:]
    commands = [a for a in args if not a.startswith("-")]
    if "create" in commands or "run" in commands:
        bundle = option(args, "--bundle", "-b") or os.getcwd()
        strip_rlimits(os.path.join(bundle, "config.json"))
    if "exec" in commands:
        process_file = option(args, "--process", "-p")
        if process_file:
            strip_rlimits(process_file)
    os.execv(REAL_RUNC, [REAL_RUNC] + args)


main()
