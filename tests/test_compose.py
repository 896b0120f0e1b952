"""docker-compose.yml, Dockerfile and Grafana wiring, checked by reading them (Docker cannot run here).

The compose file is loaded like ``docker compose config`` loads it: YAML merge keys resolved, then
``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` ... interpolated from the variables of
``.env.example`` (what a user copies to ``.env``). Everything below is data-driven: a streamscope
service is any service built from this repository, so services added later (``source helix``,
``pipeline streams``, ...) are checked without touching this file.

* every ``STREAMSCOPE_*`` variable is a field of :class:`~streamscope.settings.Settings` and its value
  validates; every command is a real CLI command path whose options exist, shown in its ``--help``,
  and parse (types, ranges) with click itself;
* ``depends_on`` targets exist with the condition their kind needs, and there is no cycle;
* Kafka, ClickHouse and Grafana have healthchecks; named volumes are declared and used;
* the Kafka address the services use is one the broker advertises on a listener it opens;
* the ClickHouse URL carries the user/password/database the ClickHouse service creates, and Grafana's
  datasource points at the same server and database with credentials from its environment;
* secrets only come from the environment (no default in the file, placeholders in .env.example).
"""

from __future__ import annotations

import base64
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from streamscope.app.cli import app
from streamscope.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
SECRET = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY", re.IGNORECASE)

# --- loading like `docker compose config` -----------------------------------------------------

_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>\w+)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<bare>\w+))"
)


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """The compose specification's interpolation of one string."""

    def sub(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        name = m.group("braced") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        value = env.get(name)
        unset_or_empty = not value
        missing = unset_or_empty if op and op.startswith(":") else value is None
        if op in (":-", "-"):
            return arg if missing else str(value)
        if op in (":?", "?"):
            if missing:
                raise MissingVariable(f"{name}: {arg}")
            return str(value)
        if op in (":+", "+"):
            return "" if missing else arg
        return value or ""

    return _VAR.sub(sub, text)


def _walk(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_walk(x, env) for x in node]
    if isinstance(node, dict):
        return {k: _walk(v, env) for k, v in node.items()}
    return node


def dotenv(path: Path) -> dict[str, str]:
    pairs = (
        ln.split("=", 1) for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")
    )
    return {k.strip(): v.strip() for k, v in pairs}


def load(env: Mapping[str, str]) -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE.read_text())  # safe_load resolves `<<:` merge keys as compose does
    return _walk({k: v for k, v in raw.items() if not k.startswith("x-")}, env)


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {d: "service_started" for d in deps}
    return {d: (spec or {}).get("condition", "service_started") for d, spec in deps.items()}


CONFIG = load(dotenv(ENV_EXAMPLE))
SERVICES: dict[str, dict[str, Any]] = CONFIG["services"]
OURS = sorted(name for name, s in SERVICES.items() if "build" in s)


def by_image(prefix: str) -> str:
    names = [n for n, s in SERVICES.items() if str(s.get("image", "")).startswith(prefix)]
    assert len(names) == 1, f"expected one {prefix} service, found {names}"
    return names[0]


KAFKA, CLICKHOUSE, GRAFANA = (
    by_image("apache/kafka:"),
    by_image("clickhouse/clickhouse-server:"),
    by_image("grafana/grafana:"),
)


def command(name: str) -> list[str]:
    cmd = SERVICES[name]["command"]
    assert isinstance(cmd, list), f"{name}: write the command as a list (exec form), not a shell string"
    return [str(x) for x in cmd]


def migrate_service() -> str:
    names = [n for n in OURS if command(n)[:2] == ["db", "migrate"]]
    assert len(names) == 1, names
    return names[0]


# --- the CLI ------------------------------------------------------------------------------------


def resolve(argv: list[str]) -> tuple[list[str], Any, list[str]]:
    """(command path, leaf click command, the leaf's arguments) for ``streamscope ARGV``.

    Typer may vendor its own click, so groups are recognised by their ``commands`` mapping.
    """
    cmd: Any = typer.main.get_command(app)
    path: list[str] = []
    args = list(argv)
    while hasattr(cmd, "commands") and args and not args[0].startswith("-"):
        sub = cmd.commands.get(args[0])
        assert sub is not None, f"`streamscope {' '.join([*path, args[0]])}` is not a command"
        cmd, path = sub, [*path, args.pop(0)]
    assert not hasattr(cmd, "commands"), f"`streamscope {' '.join(path)}` needs a subcommand"
    return path, cmd, args


@pytest.mark.parametrize("name", OURS)
def test_the_service_runs_a_real_command_with_real_options(name: str) -> None:
    path, leaf, args = resolve(command(name))
    help_run = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert help_run.exit_code == 0, help_run.output
    known = {opt for p in leaf.params for opt in p.opts}
    for word in args:
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            assert option in known, f"{name}: `streamscope {' '.join(path)}` has no option {option}"
            assert option in help_run.output, f"{name}: {option} missing from --help"
    # click parses the arguments exactly as the container would: unknown options, missing required
    # ones and values of the wrong type or range fail here.
    leaf.make_context(" ".join(["streamscope", *path]), list(args))


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_streamscope_variable_is_a_settings_field(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    ours = {k: v for k, v in environment(SERVICES[name]).items() if k.startswith(prefix)}
    if name in OURS:
        assert ours, f"{name} sets no {prefix}* variable"
    for key in ours:
        assert key[len(prefix) :].lower() in Settings.model_fields, f"{name}: {key} is read by nothing"
    for key, value in ours.items():
        monkeypatch.setenv(key, value)
    Settings()  # every value validates (types, ranges)


def test_secrets_come_only_from_the_environment() -> None:
    text = COMPOSE.read_text()
    # A secret is substituted with ${NAME:?...}: compose refuses to start without it, never a default.
    for m in re.finditer(r"\$\{(\w+)(:?[-?+])?", text):
        if SECRET.search(m.group(1)):
            assert m.group(2) in (":?", "?"), f"{m.group(1)} must be required, with no default"
    for name, service in yaml.safe_load(text)["services"].items():
        for key, value in environment(service).items():
            if SECRET.search(key):
                assert re.fullmatch(r"\$\{\w+:?\?[^}]*\}", value), f"{name}: {key} is written in the file"
    with pytest.raises(MissingVariable, match="PASSWORD"):
        load({})
    for key, value in dotenv(ENV_EXAMPLE).items():
        if SECRET.search(key):
            assert value == "CHANGE-ME", f".env.example: {key} must be a placeholder"


def test_every_variable_the_file_reads_is_documented_in_env_example() -> None:
    used = {m.group(1) for m in re.finditer(r"\$\{(\w+)", COMPOSE.read_text())}
    assert used <= set(dotenv(ENV_EXAMPLE)), f"missing from .env.example: {used - set(dotenv(ENV_EXAMPLE))}"


# --- dependencies, health, volumes --------------------------------------------------------------


def test_depends_on_targets_exist_with_the_right_condition() -> None:
    one_shot = {n for n, s in SERVICES.items() if str(s.get("restart", "no")) == "no"}
    for name, service in SERVICES.items():
        for target, condition in depends_on(service).items():
            assert target in SERVICES, f"{name} depends on unknown service {target}"
            if "healthcheck" in SERVICES[target]:
                assert condition == "service_healthy", f"{name} -> {target}: wait for health"
            elif target in one_shot:
                assert condition == "service_completed_successfully", f"{name} -> {target}: wait for success"
            else:
                assert condition == "service_started", (name, target, condition)
    assert migrate_service() in one_shot
    assert depends_on(SERVICES[migrate_service()]) == {CLICKHOUSE: "service_healthy"}
    for name in OURS:
        verb = command(name)[0]
        deps = depends_on(SERVICES[name])
        if verb in ("pipeline", "serve"):  # they read or write the warehouse's tables
            assert deps.get(migrate_service()) == "service_completed_successfully", name
            assert deps.get(CLICKHOUSE) == "service_healthy", name
        if verb in ("source", "pipeline"):  # they produce to / consume from Kafka
            assert deps.get(KAFKA) == "service_healthy", name
        if name != migrate_service():
            assert str(SERVICES[name].get("restart")) in ("unless-stopped", "always", "on-failure"), name


def test_no_dependency_cycle() -> None:
    done: set[str] = set()

    def visit(name: str, stack: tuple[str, ...]) -> None:
        assert name not in stack, f"dependency cycle: {' -> '.join((*stack, name))}"
        if name not in done:
            for target in depends_on(SERVICES[name]):
                visit(target, (*stack, name))
            done.add(name)

    for name in SERVICES:
        visit(name, ())


@pytest.mark.parametrize(
    ("service", "probe"),
    [(KAFKA, "/opt/kafka/bin/kafka-"), (CLICKHOUSE, ":8123/ping"), (GRAFANA, ":3000/api/health")],
)
def test_infrastructure_has_healthchecks(service: str, probe: str) -> None:
    test = SERVICES[service]["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL"), test
    assert probe in " ".join(test)


def test_named_volumes_are_declared_used_and_where_the_data_lives() -> None:
    declared = set(CONFIG.get("volumes") or {})
    used: set[str] = set()
    mounts: dict[str, dict[str, str]] = {}
    for name, service in SERVICES.items():
        for spec in service.get("volumes") or []:
            source, target = str(spec).split(":")[:2]
            mounts.setdefault(name, {})[target] = source
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert used == declared, f"declared but unused: {declared - used}"
    kafka_env = environment(SERVICES[KAFKA])
    assert mounts[KAFKA][kafka_env["KAFKA_LOG_DIRS"]] in declared
    assert mounts[CLICKHOUSE]["/var/lib/clickhouse"] in declared
    assert mounts[GRAFANA]["/var/lib/grafana"] in declared
    for name in OURS:  # a directory option (recovery store, ...) must be a volume, or a restart loses it
        words = command(name)
        for i, word in enumerate(words[:-1]):
            if word.endswith("-dir"):
                assert mounts.get(name, {}).get(words[i + 1]) in declared, f"{name}: {word} is not a volume"


# --- Kafka, ClickHouse and Grafana agree with the services --------------------------------------


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    out = {}
    for item in value.split(","):
        name, _, rest = item.strip().partition("://")
        host, _, port = rest.rpartition(":")
        out[name] = (host, int(port))
    return out


def test_services_use_an_address_the_broker_advertises_on_an_open_listener() -> None:
    env = environment(SERVICES[KAFKA])
    listeners = _listeners(env["KAFKA_LISTENERS"])
    advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert set(listeners) <= set(protocols) and controller in listeners
    assert controller not in advertised  # KRaft: controllers are reached through the quorum voters
    in_network = {KAFKA, SERVICES[KAFKA].get("hostname", KAFKA)}
    for listener, (_host, port) in advertised.items():
        assert listeners[listener][1] == port, (
            f"{listener} advertised on {port}, opened on {listeners[listener]}"
        )
    node, _, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert node == str(env["KAFKA_NODE_ID"]) and voter == f"{KAFKA}:{listeners[controller][1]}"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16  # kafka-storage's cluster id
    reachable = {f"{h}:{p}" for h, p in advertised.values() if h in in_network}
    users = [n for n in OURS if command(n)[0] in ("source", "pipeline")]
    assert users
    for name in users:
        brokers = environment(SERVICES[name]).get("STREAMSCOPE_KAFKA_BROKERS", "")
        assert brokers, f"{name} has no STREAMSCOPE_KAFKA_BROKERS"
        for broker in brokers.split(","):
            assert broker.strip() in reachable, f"{name}: {broker} is not advertised inside the network"
    for published in SERVICES[KAFKA].get("ports") or []:  # a host port is advertised as localhost
        port = int(str(published).rsplit(":", 1)[-1])
        assert ("localhost", port) in advertised.values()


def test_the_clickhouse_url_carries_the_user_and_database_clickhouse_creates() -> None:
    ch = environment(SERVICES[CLICKHOUSE])
    for name in OURS:
        env = environment(SERVICES[name])
        url = urlsplit(env["STREAMSCOPE_CLICKHOUSE_URL"])
        assert (url.scheme, url.hostname, url.port) == ("http", CLICKHOUSE, 8123), name
        assert (url.username, url.password) == (ch["CLICKHOUSE_USER"], ch["CLICKHOUSE_PASSWORD"]), name
        assert env["STREAMSCOPE_CLICKHOUSE_DATABASE"] == ch["CLICKHOUSE_DB"], name


def test_grafana_is_provisioned_from_the_repository_against_the_same_warehouse() -> None:
    service = SERVICES[GRAFANA]
    env = environment(service)
    mounts: dict[str, str] = {}  # container path -> host path or volume
    for spec in service["volumes"]:
        source, target = str(spec).split(":")[:2]
        mounts[target] = source
    provisioning = ROOT / mounts["/etc/grafana/provisioning"]
    assert provisioning.resolve() == (ROOT / "grafana" / "provisioning").resolve()
    datasources = []
    for f in sorted((provisioning / "datasources").glob("*.yaml")):
        text = "\n".join(ln for ln in f.read_text().splitlines() if not ln.lstrip().startswith("#"))
        for var in re.findall(r"\$\{?(\w+)\}?", text):  # Grafana expands $VAR from its environment
            assert var in env, f"{f.name} reads ${var}, which the {GRAFANA} service does not set"
        datasources += yaml.safe_load(re.sub(r"\$\{?(\w+)\}?", lambda m: env[m.group(1)], text))[
            "datasources"
        ]
    for f in sorted((provisioning / "dashboards").glob("*.yaml")):
        for provider in yaml.safe_load(f.read_text())["providers"]:
            host_dir = mounts[provider["options"]["path"]]  # the provider reads a mounted directory
            assert sorted((ROOT / host_dir).glob("*.json")), f"{host_dir} holds no dashboard"
    (ds,) = [d for d in datasources if d["type"] == "grafana-clickhouse-datasource"]
    assert ds["type"] in env["GF_INSTALL_PLUGINS"].split(",")
    jd = ds["jsonData"]
    ch = environment(SERVICES[CLICKHOUSE])
    assert (jd["host"], jd["port"], jd["protocol"]) == (CLICKHOUSE, 8123, "http")
    assert (jd["username"], ds["secureJsonData"]["password"]) == (
        ch["CLICKHOUSE_USER"],
        ch["CLICKHOUSE_PASSWORD"],
    )
    for name in OURS:
        assert jd["defaultDatabase"] == environment(SERVICES[name])["STREAMSCOPE_CLICKHOUSE_DATABASE"]


# --- the image ----------------------------------------------------------------------------------


def test_the_image_installs_every_package_and_runs_streamscope_as_a_user() -> None:
    lines = [
        ln.strip() for ln in DOCKERFILE.read_text().splitlines() if ln.strip() and not ln.startswith("#")
    ]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # Every folder that package-dir maps into the streamscope namespace (the layers).
    packages = set(pyproject["tool"]["setuptools"]["package-dir"].values())
    copied: set[str] = set()
    for ln in lines:
        if ln.startswith("COPY ") and "--from=" not in ln:
            *sources, _dest = ln.split()[1:]
            for src in (s for s in sources if not s.startswith("--")):
                assert (ROOT / src).exists(), f"Dockerfile copies missing {src}"
                copied.add(src)
    assert packages <= copied, f"not copied into the image: {packages - copied}"
    assert {"pyproject.toml", "README.md"} <= copied
    ignored = {ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not (copied & ignored), f".dockerignore hides {copied & ignored}"
    assert lines[-1] == 'CMD ["--help"]' and 'ENTRYPOINT ["streamscope"]' in lines
    assert next(ln for ln in lines if ln.startswith("FROM ")).startswith("FROM python:3.11-slim")
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    for name in OURS:
        build = SERVICES[name]["build"]
        assert (ROOT / build["context"] / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE


def test_env_files_are_examples_of_settings_with_placeholder_secrets() -> None:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    for name, service in SERVICES.items():
        for entry in service.get("env_file", []):
            path = entry["path"] if isinstance(entry, dict) else entry
            assert isinstance(entry, dict) and entry.get("required") is False, (
                f"{name}: {path} must be optional"
            )
            assert path in (ROOT / ".gitignore").read_text().split(), (
                f"{path} holds secrets: ignore it in git"
            )
            example = dotenv(ROOT / f"{path}.example")
            assert example, f"{name}: {path}.example documents nothing"
            for key, value in example.items():
                assert key.startswith(prefix) and key[len(prefix) :].lower() in Settings.model_fields, key
                if SECRET.search(key):
                    assert value == "CHANGE-ME", f"{path}.example: {key} must be a placeholder"


def test_chat_is_captured_by_one_source_only() -> None:
    # IRC and EventSub copies of a message carry different send times and would both be stored.
    irc = [n for n in OURS if command(n)[:2] == ["source", "irc"]]
    eventsub = [n for n in OURS if command(n)[:2] == ["source", "eventsub"]]
    for name in eventsub if irc else []:
        assert environment(SERVICES[name]).get("STREAMSCOPE_EVENTSUB_CHAT") == "false", name
