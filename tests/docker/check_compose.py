#!/usr/bin/env python3
"""Static checks of docker/compose.yaml and docker/Dockerfile (no Docker engine needed).

    check_compose.py DWPROXY_BINARY REPO_ROOT

Parses both files and checks every path, port, flag, volume and service name they use against
the repository, `dwproxy --help`, `dwproxy --print-config-reference` (the default config) and
`dwproxy --check-config`, and every dwctl command of the phase walk against the dwctl built
beside DWPROXY_BINARY (BUILD/control/dwctl; skipped with a note when it is missing). Prints one line per failed check, then "N passed, M failed";
exits 1 when a check failed, 2 on a usage error.
"""

import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

import yaml

# The official postgres image listens here; the compose file's URIs and healthchecks must agree.
POSTGRES_IMAGE_PORT = 5432


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}")
        return ok

    def equal(self, got, want, what):
        return self.check(got == want, f"{what}: got {got!r}, want {want!r}")


def run(args):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=30)
    return proc.returncode, proc.stdout + proc.stderr


# --- Dockerfile -------------------------------------------------------------------------


def dockerfile_instructions(text):
    """(instruction, argument string) pairs, continuation lines joined, comments dropped."""
    out, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def split_copy(args):
    """COPY [--flag=x]... SRC... DEST (shell or JSON form) -> (flags, sources, dest)."""
    words = json.loads(args) if args.startswith("[") else shlex.split(args)
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    return flags, words[:-1], words[-1] if words else ""


def parse_dockerfile(text):
    stages, current = [], None
    for word, args in dockerfile_instructions(text):
        if word == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            current = {"image": parts[0], "name": name, "workdir": "/", "copies": [], "runs": [],
                       "expose": [], "entrypoint": None, "user": None, "packages": []}
            stages.append(current)
        elif current is None:
            continue  # ARG before FROM
        elif word == "WORKDIR":
            current["workdir"] = os.path.join(current["workdir"], args)
        elif word in ("COPY", "ADD"):
            current["copies"].append((word,) + split_copy(args) + (current["workdir"],))
        elif word == "RUN":
            current["runs"].append(args)
            for m in re.finditer(r"apt-get install ((?:\S+\s*)+?)(?:&&|;|$)", args):
                current["packages"] += [w for w in m.group(1).split() if not w.startswith("-")]
        elif word == "EXPOSE":
            current["expose"] += [p.split("/")[0] for p in args.split()]
        elif word == "ENTRYPOINT":
            current["entrypoint"] = json.loads(args) if args.startswith("[") else shlex.split(args)
        elif word == "USER":
            current["user"] = args
    return stages


def dockerignore_patterns(path):
    if not os.path.isfile(path):
        return []
    lines = [line.strip() for line in open(path, encoding="utf-8")]
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def check_dockerfile(c, dockerfile, context, repo):
    stages = parse_dockerfile(open(dockerfile, encoding="utf-8").read())
    if not c.check(len(stages) >= 2, f"{dockerfile}: a multi-stage build"):
        return None
    for stage in stages:
        c.check(re.fullmatch(r"debian:12(-slim)?", stage["image"]) is not None,
                f"Dockerfile stage {stage['name'] or '(final)'} is based on debian:12: {stage['image']}")
    names = {s["name"] for s in stages if s["name"]}
    ignored = dockerignore_patterns(dockerfile + ".dockerignore") + dockerignore_patterns(
        os.path.join(context, ".dockerignore"))

    for stage in stages:
        for instr, flags, sources, dest, workdir in stage["copies"]:
            c.check(bool(sources) and bool(dest), f"{instr} names a source and a destination")
            if "from" in flags:
                c.check(flags["from"] in names, f"COPY --from={flags['from']} names a build stage")
                continue
            for src in sources:
                matches = glob.glob(os.path.join(context, src))
                c.check(bool(matches), f"{instr} source {src} exists in the build context {context}")
                top = os.path.normpath(src).split(os.sep)[0]
                c.check(top not in ignored, f"{instr} source {src} is not excluded by a .dockerignore")

    build = stages[0]
    runs = " ".join(build["runs"])
    copied = {os.path.normpath(s) for _, f, srcs, _, _ in build["copies"] if "from" not in f for s in srcs}
    c.check("scripts/install-deps.sh" in runs and "scripts/install-deps.sh" in copied,
            "the build stage copies and runs the project's scripts/install-deps.sh")
    preset = re.search(r"cmake --preset (\S+)", runs)
    presets_file = os.path.join(repo, "CMakePresets.json")
    preset_names = [p["name"] for p in json.load(open(presets_file))["configurePresets"]]
    if c.check(preset is not None and preset.group(1) in preset_names,
               f"the build stage configures with a preset of CMakePresets.json ({preset_names})"):
        c.check(f"cmake --build --preset {preset.group(1)}" in runs,
                "the build stage builds with the same preset")
    build_targets = re.search(r"--target ([\w ]+)", runs)
    targets = build_targets.group(1).split() if build_targets else []
    c.check({"dwproxy", "dwctl"} <= set(targets), f"the build stage builds dwproxy and dwctl: {targets}")

    # Binaries copied out of the build stage: <workdir>/build/<preset>/<folder>/<target>, where
    # <folder>/CMakeLists.txt declares that executable.
    final = stages[-1]
    installed = {}
    for instr, flags, sources, dest, _ in final["copies"]:
        if "from" not in flags:
            continue
        origin = next((s for s in stages if s["name"] == flags["from"]), None)
        for src in sources:
            rel = os.path.relpath(src, origin["workdir"]) if origin else src
            m = re.fullmatch(r"build/([^/]+)/(.+)/([^/]+)", rel)
            if not c.check(m is not None, f"COPY --from source {src} lies in a preset build tree"):
                continue
            c.check(preset is not None and m.group(1) == preset.group(1),
                    f"COPY --from source {src} comes from the preset that was built")
            cmakelists = os.path.join(repo, m.group(2), "CMakeLists.txt")
            declared = os.path.isfile(cmakelists) and re.search(
                rf"add_executable\(\s*{re.escape(m.group(3))}\s", open(cmakelists).read())
            c.check(bool(declared), f"{m.group(2)}/CMakeLists.txt declares executable {m.group(3)}")
            c.check(m.group(3) in targets, f"{m.group(3)} is one of the targets built")
            installed[m.group(3)] = dest if not dest.endswith("/") else dest + m.group(3)
    c.check({"dwproxy", "dwctl"} <= set(installed), "the final stage installs dwproxy and dwctl")
    entry = final["entrypoint"] or []
    c.check(bool(entry) and entry[0] == installed.get("dwproxy"),
            f"ENTRYPOINT runs the installed dwproxy: {entry}")
    c.check(final["user"] not in (None, "root", "0"), f"the final stage runs unprivileged: USER {final['user']}")
    return final


# Always present in debian:12-slim (essential or pulled in by libstdc++6).
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}


def check_runtime_libraries(c, final_stage, binaries):
    """Every NEEDED library of the built binaries comes from a package the final stage installs.

    Needs readelf, ldd and dpkg (Debian); without them the check is skipped with a note."""
    tools = ("readelf", "ldd", "dpkg")
    if not all(shutil.which(t) for t in tools):
        print(f"note: runtime library check skipped (needs {', '.join(tools)})")
        return
    installed = set(final_stage["packages"]) | BASE_PACKAGES
    for binary in binaries:
        _, dynamic = run(["readelf", "-d", binary])
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
        _, resolved = run(["ldd", binary])
        paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", resolved, re.M))
        for lib in needed:
            if lib.startswith("ld-linux"):
                continue
            path = paths.get(lib)
            if not c.check(path is not None, f"{os.path.basename(binary)}: {lib} resolves on this machine"):
                continue
            # Merged /usr: dpkg knows each file under /lib or /usr/lib only, so try both.
            package = None
            for p in (path, os.path.realpath(path)):
                for candidate in (p, p[4:] if p.startswith("/usr/") else "/usr" + p):
                    rc, owner = run(["dpkg", "-S", candidate])
                    if rc == 0 and package is None:
                        package = owner.split(":")[0].strip()
            c.check(package in installed,
                    f"{os.path.basename(binary)}: {lib} (package {package}) is installed by the "
                    f"Dockerfile's final stage: {sorted(final_stage['packages'])}")


# --- compose ----------------------------------------------------------------------------


def port_of_listen(addr):
    m = re.fullmatch(r"(?:\[[^\]]+\]|[^:\[\]]+):(\d+)", addr)
    return int(m.group(1)) if m else None


def flag_values(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


def config_defaults(binary):
    """option -> default from the reference table of `dwproxy --print-config-reference`."""
    rc, text = run([binary, "--print-config-reference"])
    defaults = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|[^|]*\|\s*`([^`]*)`\s*\|", line)
        if m:
            defaults[m.group(1)] = m.group(2)
    return rc, defaults


def as_argv(command):
    if command is None:
        return []
    return [str(a) for a in command] if isinstance(command, list) else shlex.split(command)


def service_script(service):
    """The `bash -c` style script of a service, with compose's `$$` escapes undone."""
    script = "\n".join(as_argv(service.get("entrypoint")) + as_argv(service.get("command")))
    return script.replace("$$", "$")


SHELL_OPERATOR = re.compile(r"[();<>|&]+")


def shell_commands(service):
    """Every simple command of a service script, as an argv: lines are cut at shell operators
    (`;`, `&&`, `|`, `&`, redirections, `$(`), leading VAR=value words are dropped, and so is
    a leading call of a function the script defines (a wrapper such as `show dwctl status`)."""
    script = service_script(service)
    functions = set(re.findall(r"^\s*([A-Za-z_][\w-]*)\s*\(\)", script, re.M))
    out = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:
            continue
        segment = []
        for token in tokens + [";"]:
            if not SHELL_OPERATOR.fullmatch(token):
                segment.append(token)
                continue
            while segment and re.fullmatch(r"[A-Za-z_]\w*=.*", segment[0]):
                segment.pop(0)
            if segment and segment[0] in functions and len(segment) > 1:
                segment.pop(0)
            if segment:
                out.append(segment)
            segment = []
    return out


def option_value(argv, short, long_name=None):
    for i, a in enumerate(argv):
        if a == short or (long_name and a == long_name):
            return argv[i + 1] if i + 1 < len(argv) else None
        if long_name and a.startswith(long_name + "="):
            return a.split("=", 1)[1]
    return None


def healthcheck_argv(service):
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, str):
        return shlex.split(test)
    return [str(t) for t in test or []][1:]  # drop CMD / CMD-SHELL


def check_compose(c, compose_path, repo, binary, final_stage):
    compose_dir = os.path.dirname(compose_path)
    doc = yaml.safe_load(open(compose_path, encoding="utf-8"))
    services = doc.get("services") or {}
    for name in SERVICES:
        c.check(name in services, f"compose defines service {name}")
    if not all(n in services for n in SERVICES):
        return

    # Build paths, relative to the compose file's folder.
    dockerfile = None
    for name, svc in services.items():
        build = svc.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = os.path.normpath(os.path.join(compose_dir, build.get("context", ".")))
        c.check(os.path.isdir(context), f"service {name}: build context {context} exists")
        c.check(os.path.realpath(context) == os.path.realpath(repo),
                f"service {name}: build context is the repository root")
        df = os.path.join(context, build.get("dockerfile", "Dockerfile"))
        if c.check(os.path.isfile(df), f"service {name}: dockerfile {df} exists"):
            dockerfile = (df, context)
    c.check("build" in services["dwproxy"], "service dwproxy is built from the repository")
    if dockerfile:
        final_stage = check_dockerfile(c, dockerfile[0], dockerfile[1], repo)
    if final_stage:
        # dwctl from the same build tree as the dwproxy under test, when it is there.
        dwctl = os.path.join(os.path.dirname(os.path.dirname(binary)), "control", "dwctl")
        check_runtime_libraries(c, final_stage, [binary] + ([dwctl] if os.path.isfile(dwctl) else []))

    # depends_on: existing services; service_healthy needs a healthcheck.
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {} for d in deps}
        for dep, spec in deps.items():
            if c.check(dep in services, f"service {name} depends on existing service {dep}"):
                if (spec or {}).get("condition") == "service_healthy":
                    c.check("healthcheck" in services[dep],
                            f"service {name} waits for {dep} to be healthy: {dep} has a healthcheck")
    c.equal(set((services["dwproxy"].get("depends_on") or {})), {"old", "new"},
            "dwproxy depends on")
    c.check("dwproxy" in (services["load"].get("depends_on") or {}), "load depends on dwproxy")

    # dwproxy's command: every flag known to --help, and the whole command valid config.
    argv = as_argv(services["dwproxy"].get("command"))
    rc, help_text = run([binary, "--help"])
    c.equal(rc, 0, "dwproxy --help exit status")
    known = set(re.findall(r"(--[a-z][a-z0-9-]*)", help_text))
    for flag in (a.split("=")[0] for a in argv if a.startswith("-")):
        c.check(flag in known, f"dwproxy flag {flag} is listed by dwproxy --help")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as empty:
        empty.write("{}\n")
        empty.flush()
        rc, out = run([binary, "--check-config", empty.name] + argv)
        c.check(rc == 0, f"dwproxy --check-config accepts the compose command (status {rc}): {out.strip()}")

    # Ports: the listen port is the default config's, the exposed one, the published one, the
    # healthcheck's and the one the load connects to.
    rc, defaults = config_defaults(binary)
    c.check(rc == 0 and "listen" in defaults, "dwproxy --print-config-reference lists the listen default")
    default_port = port_of_listen(defaults.get("listen", ""))
    listens = flag_values(argv, "--listen")
    c.equal(len(listens), 1, "dwproxy --listen count")
    listen_port = port_of_listen(listens[0]) if listens else None
    c.check(listens and not listens[0].startswith("127.") and not listens[0].startswith("[::1]"),
            f"dwproxy listens beyond loopback so other containers reach it: {listens}")
    c.equal(listen_port, default_port, "dwproxy listen port vs the default config's")
    if final_stage:
        c.equal([int(p) for p in final_stage["expose"]], [listen_port], "Dockerfile EXPOSE vs --listen")
    for mapping in services["dwproxy"].get("ports") or []:
        target = int(str(mapping).split(":")[-1].split("/")[0]) if not isinstance(mapping, dict) \
            else int(mapping["target"])
        c.equal(target, listen_port, f"dwproxy published port {mapping} container side")
    health = " ".join(healthcheck_argv(services["dwproxy"]))
    c.check(f"/{listen_port}" in health or f"-p {listen_port}" in health,
            f"dwproxy healthcheck probes port {listen_port}: {health}")

    # Backends: --old/--new URIs parse, name the old/new services on the image's port, and use
    # the database, user and password those services create.
    defaults_backend_port = int(defaults.get("backends.<old\\|new>.port", "0") or 0)
    uris = {}
    for side in ("old", "new"):
        values = flag_values(argv, f"--{side}")
        if not c.equal(len(values), 1, f"dwproxy --{side} count"):
            continue
        uri = urllib.parse.urlsplit(values[0])
        uris[side] = uri
        c.check(uri.scheme in ("postgresql", "postgres"), f"--{side} is a postgresql:// URI")
        c.equal(uri.hostname, side, f"--{side} host (a compose service)")
        c.check(uri.hostname in services, f"--{side} host {uri.hostname} is a compose service")
        port = uri.port or defaults_backend_port
        c.equal(port, POSTGRES_IMAGE_PORT, f"--{side} port")
        c.equal(port, defaults_backend_port, f"--{side} port vs the default backend port")
        env = services.get(uri.hostname, {}).get("environment") or {}
        c.equal(uri.path.lstrip("/"), env.get("POSTGRES_DB"), f"--{side} database vs {side}'s POSTGRES_DB")
        c.equal(uri.username, env.get("POSTGRES_USER", "postgres"), f"--{side} user vs {side}'s POSTGRES_USER")
        c.equal(uri.password, env.get("POSTGRES_PASSWORD"), f"--{side} password vs {side}'s POSTGRES_PASSWORD")
        c.check(str(services[side].get("image", "")).startswith("postgres:15"), f"{side} runs postgres:15")
        hc = healthcheck_argv(services[side])
        c.check(bool(hc) and hc[0] == "pg_isready", f"{side} healthcheck uses pg_isready")
        hc_port = option_value(hc, "-p", "--port")
        c.equal(int(hc_port) if hc_port else POSTGRES_IMAGE_PORT, POSTGRES_IMAGE_PORT,
                f"{side} healthcheck port")
    phases = flag_values(argv, "--phase")
    c.equal(phases, ["0"], "dwproxy --phase (it starts in passthrough; the walk service moves it)")

    check_scripts(c, services)
    check_volumes(c, doc, services)
    check_load(c, services, uris, listen_port)
    check_walk(c, services, argv, binary, final_stage)


SERVICES = ("old", "new", "dwproxy", "load", "walk")


def check_scripts(c, services):
    """Compose replaces `$NAME` in the whole file: a script's own `$` must be written `$$`."""
    for name, svc in services.items():
        raw = "\n".join(as_argv(svc.get("entrypoint")) + as_argv(svc.get("command")))
        stray = re.findall(r"\$[^$]?", raw.replace("$$", ""))
        c.check(not stray, f"service {name}: every $ of its script is escaped as $$ "
                           f"(compose would substitute {stray[:3]})")


def volume_mounts(service):
    """{volume name: container path} of a service's named-volume mounts (short or long form)."""
    out = {}
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            if v.get("type", "volume") == "volume" and v.get("source"):
                out[v["source"]] = v.get("target")
        else:
            source, _, rest = str(v).partition(":")
            if rest and not source.startswith((".", "/", "~")):
                out[source] = rest.split(":")[0]
    return out


def check_volumes(c, doc, services):
    declared = doc.get("volumes") or {}
    for name, svc in services.items():
        for vol in volume_mounts(svc):
            c.check(vol in declared, f"service {name}: volume {vol} is declared under volumes:")


def direct_targets(services):
    """Services a client may reach directly: the PostgreSQL servers, by their compose name."""
    return {n: s for n, s in services.items() if str(s.get("image", "")).startswith("postgres:")
            and "POSTGRES_DB" in (s.get("environment") or {})}


def check_load(c, services, uris, listen_port):
    """pgbench -i on OLD and NEW directly (the same scale, so NEW starts as OLD's copy), then
    the timed pgbench and the queries through dwproxy, and psql on OLD and NEW to compare."""
    load = services["load"]
    c.check(str(load.get("image", "")).startswith("postgres:15"), "load runs the postgres:15 image")
    commands = [a for a in shell_commands(load) if a[0] in ("pgbench", "psql")]
    load_env = load.get("environment") or {}
    servers = direct_targets(services)
    old = uris.get("old")

    def host_of(a):
        return option_value(a, "-h", "--host") or load_env.get("PGHOST")

    inits = [a for a in commands if a[0] == "pgbench" and "-i" in a]
    c.equal(sorted(host_of(a) for a in inits), ["new", "old"],
            "load runs pgbench -i once on OLD and once on NEW, directly")
    c.equal(len({option_value(a, "-s", "--scale") or "1" for a in inits}), 1,
            "pgbench -i uses the same scale on OLD and NEW")
    timed = [a for a in commands if a[0] == "pgbench" and "-T" in a]
    c.check(any(option_value(a, "-c") == "4" for a in timed), "load runs pgbench -T ... -c 4")
    c.check(bool(timed) and all(host_of(a) == "dwproxy" for a in timed),
            "every timed pgbench goes through dwproxy")
    c.check({"old", "new"} <= {host_of(a) for a in commands if a[0] == "psql"},
            "load compares OLD and NEW with psql on each")

    for a in commands:
        host = host_of(a)
        port = option_value(a, "-p", "--port") or load_env.get("PGPORT")
        port = int(port) if port else None
        user = option_value(a, "-U", "--username") or load_env.get("PGUSER")
        db = (option_value(a, "-d", "--dbname") if a[0] == "psql" else None) or \
            (a[-1] if not a[-1].startswith("-") else None)
        what = f"{a[0]} {' '.join(a[1:4])}..."
        if host == "dwproxy":
            c.equal(port, listen_port, f"{what}: port vs dwproxy --listen")
            if old:
                c.equal(user, old.username, f"{what}: user vs the --old URI's")
                c.equal(db, old.path.lstrip("/"), f"{what}: database vs the --old URI's")
        elif c.check(host in servers, f"{what}: host {host} is dwproxy or a PostgreSQL service"):
            env = servers[host].get("environment") or {}
            c.equal(port or POSTGRES_IMAGE_PORT, POSTGRES_IMAGE_PORT, f"{what}: port on {host}")
            c.equal(user, env.get("POSTGRES_USER", "postgres"), f"{what}: user vs {host}'s POSTGRES_USER")
            c.equal(db, env.get("POSTGRES_DB"), f"{what}: database vs {host}'s POSTGRES_DB")
            c.equal(load_env.get("PGPASSWORD"), env.get("POSTGRES_PASSWORD"),
                    f"load PGPASSWORD vs {host}'s POSTGRES_PASSWORD")
    if old:
        c.equal(load_env.get("PGPASSWORD"), old.password, "load PGPASSWORD vs the --old URI's password")


def check_walk(c, services, proxy_argv, binary, final_stage):
    """The walk service: dwctl from dwproxy's own image, on dwproxy's control socket through a
    shared volume, moving 1, 2, 3, 4 in order; and the load and walk wait only for markers the
    other one writes, in a volume both mount at the same place."""
    walk, proxy, load = services["walk"], services["dwproxy"], services["load"]
    c.equal(walk.get("image"), proxy.get("image"), "walk runs dwproxy's image (it carries dwctl)")
    c.check(walk.get("build", proxy.get("build")) == proxy.get("build"),
            "walk builds the image exactly as dwproxy does, if at all")
    c.check(walk.get("user") in (None, proxy.get("user")),
            "walk runs as dwproxy's user (the control socket is mode 0600)")
    spec = (walk.get("depends_on") or {}).get("dwproxy") if isinstance(walk.get("depends_on"), dict) else None
    c.check((spec or {}).get("condition") == "service_healthy", "walk waits until dwproxy is healthy")

    sockets = flag_values(proxy_argv, "--control-socket")
    if not c.equal(len(sockets), 1, "dwproxy --control-socket count"):
        return
    socket = sockets[0]
    socket_dir = os.path.dirname(socket)
    proxy_mounts, walk_mounts = volume_mounts(proxy), volume_mounts(walk)
    shared = [v for v, target in proxy_mounts.items() if target == socket_dir]
    if c.check(bool(shared), f"dwproxy mounts a named volume at the socket's folder {socket_dir}"):
        c.equal(walk_mounts.get(shared[0]), socket_dir, f"walk mounts volume {shared[0]} at")
    state = flag_values(proxy_argv, "--state-file")
    c.equal(len(state), 1, "dwproxy --state-file count (the phase survives a proxy restart)")
    if final_stage:
        runs = " ".join(final_stage["runs"])
        for path in [socket_dir] + [os.path.dirname(p) for p in state]:
            c.check(re.search(rf"install -d [^&;]*{re.escape(path)}(\s|$)", runs) is not None,
                    f"the image creates {path} for its user (install -d in the final stage)")

    dwctl_env = (walk.get("environment") or {}).get("DWCTL_SOCKET")
    commands = [a for a in shell_commands(walk) if a[0] == "dwctl"]
    for a in commands:
        c.equal(option_value(a, "--socket") or dwctl_env, socket, f"{' '.join(a)}: socket vs --control-socket")
    moves = [option_value(a, "phase") for a in commands if "phase" in a]
    c.equal(moves, ["1", "2", "3", "4"], "walk's dwctl phase moves, in order")
    dwctl = os.path.join(os.path.dirname(os.path.dirname(binary)), "control", "dwctl")
    if not os.access(dwctl, os.X_OK):
        print(f"note: dwctl command check skipped (no {dwctl})")
    else:
        # Exit status 3 is "cannot connect": the arguments parsed; 2 would be a usage error.
        with tempfile.TemporaryDirectory() as tmp:
            for a in commands:
                rc, out = run([dwctl, *a[1:], "--socket", os.path.join(tmp, "none.sock")])
                c.equal(rc, 3, f"`{' '.join(a)}` parses (dwctl on a missing socket): {(out.strip() or '-').splitlines()[0]}")

    # Markers: each service waits only for names some service writes, in a shared volume.
    sync = [v for v, target in volume_mounts(load).items() if walk_mounts.get(v) == target]
    c.check(bool(sync), "load and walk share a volume at the same path (their markers)")
    scripts = {n: service_script(services[n]) for n in ("load", "walk")}
    written = {m for text in scripts.values() for m in re.findall(r"\bmark ([\w-]+)", text)}
    for name, text in scripts.items():
        for waited in re.findall(r"\bawait ([\w-]+)", text):
            c.check(waited in written, f"{name} waits for marker {waited}, which a service writes")


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    binary, repo = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    c = Checker()
    compose = os.path.join(repo, "docker", "compose.yaml")
    if c.check(os.path.isfile(compose), f"{compose} exists") and c.check(
            os.access(binary, os.X_OK), f"{binary} is executable"):
        try:
            check_compose(c, compose, repo, binary, None)
        except (yaml.YAMLError, OSError, ValueError, KeyError, TypeError,
                subprocess.SubprocessError) as e:
            c.check(False, f"checking stopped: {type(e).__name__}: {e}")
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
