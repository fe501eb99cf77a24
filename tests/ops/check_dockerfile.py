#!/usr/bin/env python3
"""Checks deploy/Dockerfile without a container engine (make ops-check).

- every stage starts from Debian bookworm;
- every package an apt-get install names exists in bookworm (apt-cache);
- the build stage installs only packages deploy/packages.txt lists;
- the final stage installs exactly ca-certificates plus the packages of
  the shared libraries the built binary names (readelf NEEDED, resolved
  with ldd and dpkg -S), less those of the base image; no -dev package;
- the final stage runs as a non-root user and starts the binary.

Usage: check_dockerfile.py [ROOT] [BINARY]   exit 1 on any failure
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                    pathlib.Path(__file__).resolve().parents[2])
BINARY = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else
                      ROOT / "build/bin/presync")
# Part of debian:bookworm-slim (Priority required), never installed.
BASE_IMAGE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
# Installed for what they carry, not for a library the binary loads.
NOT_LIBRARIES = {"ca-certificates"}
RESULTS = {"passed": 0, "failed": 0}


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    RESULTS["passed" if ok else "failed"] += 1


def stages(text):
    """Returns [(base image, [instructions])] with continuations joined."""
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            out.append((rest.split()[0], []))
        elif out:
            out[-1][1].append((word.upper(), rest.strip()))
    return out


def installed(instructions):
    packages = []
    for word, rest in instructions:
        if word != "RUN":
            continue
        for part in rest.split("&&"):
            tokens = part.split()
            if tokens[:2] == ["apt-get", "install"]:
                packages += [t for t in tokens[2:] if not t.startswith("-")]
    return packages


def known_to_apt(packages):
    """Returns the names among `packages` that apt-cache can show."""
    run = subprocess.run(["apt-cache", "show", "--no-all-versions",
                          *packages], capture_output=True, text=True)
    return set(re.findall(r"^Package: (\S+)$", run.stdout, re.M))


def owner(path):
    """Returns the Debian package that installed `path` (usrmerge aware)."""
    candidates = [path, str(pathlib.Path(path).resolve())]
    candidates += [c.replace("/usr/lib/", "/lib/", 1) for c in candidates]
    for c in candidates:
        run = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
        if run.returncode == 0:
            return run.stdout.split(":")[0].strip()
    return None


def needed_packages(binary):
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                        subprocess.run(["readelf", "-d", str(binary)],
                                       capture_output=True, text=True,
                                       check=True).stdout)
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)",
                            subprocess.run(["ldd", str(binary)],
                                           capture_output=True, text=True,
                                           check=True).stdout, re.M))
    packages = {}
    for soname in needed:
        packages[soname] = owner(paths[soname]) if soname in paths else None
    return packages


def main():
    text = (ROOT / "deploy/Dockerfile").read_text()
    parsed = stages(text)
    check(len(parsed) >= 2, f"{len(parsed)} stages (multi-stage build)")
    for image, _ in parsed:
        check(re.fullmatch(r"debian:bookworm(-slim)?(@sha256:[0-9a-f]+)?",
                           image) is not None,
              f"stage base {image} is Debian bookworm")

    build, final = parsed[0][1], parsed[-1][1]
    build_pkgs, final_pkgs = installed(build), installed(final)
    everything = sorted(set(build_pkgs + final_pkgs))
    known = known_to_apt(everything)
    for p in everything:
        check(p in known, f"package {p} exists (apt-cache show)")

    listed = {line.split("#")[0].strip() for line in
              (ROOT / "deploy/packages.txt").read_text().splitlines()}
    for p in build_pkgs:
        check(p in listed, f"build stage package {p} is in deploy/packages.txt")

    check(not [p for p in final_pkgs if p.endswith("-dev")],
          "no -dev package in the final stage")
    if not BINARY.exists():
        check(False, f"{BINARY} exists (build it first)")
    else:
        needs = needed_packages(BINARY)
        unresolved = [s for s, p in needs.items() if p is None]
        check(not unresolved, f"every NEEDED library of {BINARY.name} "
              f"belongs to a package {unresolved or ''}")
        wanted = {p for p in needs.values() if p} - BASE_IMAGE
        have = set(final_pkgs) - NOT_LIBRARIES
        check(not wanted - have, "the final stage installs every library "
              f"package the binary needs {sorted(wanted - have) or ''}")
        check(not have - wanted, "the final stage installs nothing else "
              f"{sorted(have - wanted) or ''}")

    users = [rest for word, rest in final if word == "USER"]
    check(bool(users) and users[-1].split(":")[0] not in ("0", "root"),
          f"the final stage runs as a non-root user ({users[-1:]})")
    entry = [rest for word, rest in final if word == "ENTRYPOINT"]
    check(entry == ['["/usr/local/bin/presync"]'],
          "the final stage's entrypoint is /usr/local/bin/presync")
    copies = [rest for word, rest in final if word == "COPY"]
    check(all(c.startswith("--from=") for c in copies),
          "the final stage copies only from the build stage")

    print(f"dockerfile: {RESULTS['passed']} passed, "
          f"{RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
