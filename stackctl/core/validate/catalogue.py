"""Every finding code stackctl emits: severity, a short title, what it means, an example.

One place for what a code means: ``docs/validation.md``'s table is generated from
it (``scripts/gen_docs.py``), ``validate --format github|sarif`` takes rule
titles and explanations from it, and a unit test fails when the source emits a
code this catalogue lacks. Titles are short (an annotation title, a SARIF rule
name); the explanation says what is wrong and what to do.

``example`` is a stack file that produces the code, where one file shows it (the
unit tests validate each and expect the code).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from stackctl.errors import Severity

_E = (Severity.ERROR,)
_W = (Severity.WARNING,)
_EW = (Severity.ERROR, Severity.WARNING)


@dataclass(frozen=True)
class Rule:
    code: str
    severities: tuple[Severity, ...]  # the severities the code is emitted with
    title: str
    explanation: str
    example: str | None = None  # a stack file that produces the code

    @property
    def severity_text(self) -> str:
        return " / ".join(s.value for s in self.severities)


_RULES = (
    Rule(
        "SC001",
        _E,
        "not readable as YAML",
        "The file is not valid YAML: a syntax error, a wrong encoding, a duplicate or "
        "non-scalar key, or a size, depth or alias limit exceeded.",
        "services:\n  web:\n    image: [nginx\n",
    ),
    Rule(
        "SC002",
        _W,
        "YAML tag ignored",
        "A YAML tag (such as `!reset` or `!override`) is ignored, as docker stack deploy "
        "ignores it.",
        "services:\n  web:\n    image: !override nginx:1.25\n",
    ),
    Rule(
        "SC003",
        _W,
        "extra YAML documents ignored",
        "Only the first YAML document is used; documents after `---` are ignored, as "
        "docker stack deploy does.",
        "services:\n  web:\n    image: nginx:1.25\n---\nservices: {}\n",
    ),
    Rule(
        "SC010",
        _E,
        "unknown key",
        'A key the stack file format does not have (with "did you mean" or where it belongs).',
        "services:\n  web:\n    image: nginx:1.25\n    deploy:\n      replica: 2\n",
    ),
    Rule(
        "SC011",
        _E,
        "wrong type",
        "A value of the wrong type (hints: quote YAML booleans, add a duration unit, "
        "remove quotes).",
        "services:\n  web:\n    image: nginx:1.25\n    deploy:\n      replicas: two\n",
    ),
    Rule(
        "SC012",
        _E,
        "value not allowed",
        "A value outside the allowed set (enum), or of the wrong form.",
        "services:\n  web:\n    image: nginx:1.25\n    deploy:\n      mode: single\n",
    ),
    Rule(
        "SC013",
        _E,
        "required key missing",
        "A required key is missing, e.g. a long-syntax port without `target`.",
        "services:\n  web:\n    image: nginx:1.25\n    ports:\n      - published: 80\n",
    ),
    Rule(
        "SC014",
        _E,
        "duplicate list entry",
        "A list that must hold unique entries has one twice.",
        "services:\n  web:\n    image: nginx:1.25\n    dns: [1.1.1.1, 1.1.1.1]\n",
    ),
    Rule("SC015", _E, "number out of range", "A number outside the range the key allows.", None),
    Rule("SC016", _E, "schema violation", "Any other violation of the stack file schema.", None),
    Rule(
        "SC017",
        _E,
        "key not a string",
        "A mapping key that is not a string (`1: x`) in a document given as data; in "
        "YAML text such a key is SC001.",
        None,
    ),
    Rule(
        "SC020",
        _E,
        "unsupported by Swarm stacks",
        "A Compose Specification feature docker stack deploy does not support (`build`, "
        "`depends_on` conditions, `*.environment` for configs/secrets, ...); the message "
        "says what to use instead.",
        None,
    ),
    Rule(
        "SC021",
        _E,
        "file format not 3.x",
        "A `version:` other than 3.x; stack files are Compose file format 3.",
        "version: '2.4'\nservices:\n  web:\n    image: nginx:1.25\n",
    ),
    Rule(
        "SC030",
        _E,
        "stack or env file unreadable",
        "A stack file or `--env-file` is missing, a directory, unreadable or too big; or "
        "no stack file was given and none of the default names exists.",
        None,
    ),
    Rule(
        "SC031",
        _E,
        "referenced file unreadable",
        "A file the stack refers to (config, secret, `env_file`) is missing, unreadable or "
        "larger than Swarm allows. Paths are relative to the stack file naming them.",
        "services:\n  web:\n    image: nginx:1.25\n    configs: [app]\n"
        "configs:\n  app:\n    file: ./no-such-file.conf\n",
    ),
    Rule(
        "SC032",
        _E,
        "age file not decryptable",
        "An `.age` file cannot be decrypted: no identity, no matching identity, corrupt or "
        "truncated, or passphrase-encrypted (docs/secrets.md).",
        None,
    ),
    Rule(
        "SC033",
        _E,
        "encrypted value used outside environment",
        "A variable from an encrypted env file is used outside a service's `environment`, "
        "where it would be stored in clear.",
        None,
    ),
    Rule(
        "SC040",
        _E,
        "malformed $ expression",
        "A `$` expression that is not `$VAR`, `${VAR}` or one of its default/required "
        "forms; write `$$` for a literal dollar sign.",
        "services:\n  web:\n    image: nginx:${TAG\n",
    ),
    Rule(
        "SC041",
        _E,
        "required variable unset",
        "A required variable (`${VAR?msg}` / `${VAR:?msg}`) is unset or empty.",
        "services:\n  web:\n    image: nginx:${STACKCTL_CATALOGUE_TAG:?set the tag}\n",
    ),
    Rule(
        "SC042",
        _EW,
        "variable unset",
        "A variable is unset and has no default; it becomes an empty string (warning; an "
        "error with `--strict`).",
        "services:\n  web:\n    image: nginx:1.25\n    environment:\n"
        "      A: ${STACKCTL_CATALOGUE_UNSET}\n",
    ),
    Rule(
        "SC043",
        _E,
        "malformed env file line",
        "A line of an env file that is not `NAME=value` (or a comment).",
        None,
    ),
    Rule(
        "SC101",
        _W,
        "mutable image tag",
        "An image without a tag, or tagged `latest`, cannot be told apart from the previous "
        "version on update or rollback. Digests count as pinned.",
        "services:\n  web:\n    image: nginx\n",
    ),
    Rule(
        "SC102",
        _W,
        "health-gated update without healthcheck",
        "`failure_action: rollback|pause` or `order: start-first` depend on the new task's "
        "health, but the service has no healthcheck (ignore it if the image defines one).",
        "services:\n  web:\n    image: nginx:1.25\n    deploy:\n      update_config:\n"
        "        failure_action: rollback\n",
    ),
    Rule(
        "SC103",
        _W,
        "update monitor too short",
        "The update `monitor` is shorter than start_period + interval x retries, so a "
        "failing health check is noticed only after the update moved on.",
        None,
    ),
    Rule(
        "SC104",
        _W,
        "single replica stopped first",
        "`replicas: 1` with stop-first update order stops the only task before the new one "
        "starts: an outage on every update.",
        "services:\n  web:\n    image: nginx:1.25\n    deploy:\n      replicas: 1\n",
    ),
    Rule(
        "SC105",
        _W,
        "failure ratio without effect",
        "`max_failure_ratio` >= 1 can never be exceeded; a ratio with `failure_action: "
        "continue` has no effect.",
        None,
    ),
    Rule(
        "SC106",
        _W,
        "job with a health check",
        "A job (`replicated-job`/`global-job`) keeps its image's HEALTHCHECK (stackctl cannot "
        "see it offline) or sets one: a one-shot command does not serve what an app's check "
        "probes, so Swarm reports the task `starting` while it runs and kills it (exit 137, "
        "`unhealthy container`) once the check turns unhealthy: a migration cut off mid-way. "
        "Add `healthcheck: {disable: true}` to the job (docs/hooks.md).",
        "services:\n  migrate:\n    image: shop/app:2\n    deploy:\n"
        "      mode: replicated-job\n      endpoint_mode: dnsrr\n",
    ),
    Rule(
        "SC107",
        _W,
        "job with a virtual IP",
        "A job uses the `vip` endpoint mode (compose's default): Swarm gives it a virtual IP "
        "on each of its networks for as long as the service exists, though nothing should "
        "connect to a job (published ports would hold a routing-mesh port too). "
        "`docker stack deploy` sends it as written; stackctl warns rather than converting. "
        "Set `deploy.endpoint_mode: dnsrr` (docs/hooks.md).",
        "services:\n  migrate:\n    image: shop/app:2\n    healthcheck:\n"
        "      disable: true\n    deploy:\n      mode: replicated-job\n",
    ),
    Rule("SC200", _E, "no services", "The stack defines no services.", "services: {}\n"),
    Rule(
        "SC201",
        _E,
        "undefined network",
        "A service joins a network the file does not declare (`default` needs no declaration).",
        "services:\n  web:\n    image: nginx:1.25\n    networks: [back]\n",
    ),
    Rule(
        "SC202",
        _E,
        "undefined config",
        "A service uses a config the file does not declare (also `credential_spec.config`).",
        "services:\n  web:\n    image: nginx:1.25\n    configs: [app]\n",
    ),
    Rule(
        "SC203",
        _E,
        "undefined secret",
        "A service uses a secret the file does not declare.",
        "services:\n  web:\n    image: nginx:1.25\n    secrets: [pw]\n",
    ),
    Rule(
        "SC204",
        _E,
        "undefined volume",
        "A service mounts a named volume the file does not declare.",
        "services:\n  web:\n    image: nginx:1.25\n    volumes: ['data:/data']\n",
    ),
    Rule(
        "SC205",
        _E,
        "ingress port used twice",
        "Two services (or ports) publish the same ingress port.",
        "services:\n  a:\n    image: nginx:1.25\n    ports: ['80:80']\n"
        "  b:\n    image: nginx:1.25\n    ports: ['80:8080']\n",
    ),
    Rule(
        "SC206",
        _E,
        "malformed duration",
        "A duration that is not a number with units (`90s`, `1m30s`).",
        "services:\n  web:\n    image: nginx:1.25\n    stop_grace_period: soon\n",
    ),
    Rule(
        "SC207",
        _E,
        "malformed byte size",
        "A byte size that is not a number with an optional unit (`512m`, `1g`).",
        "services:\n  web:\n    image: nginx:1.25\n    deploy:\n      resources:\n"
        "        limits:\n          memory: lots\n",
    ),
    Rule(
        "SC208",
        _E,
        "malformed CPU count",
        "A CPU count that is not a positive number.",
        "services:\n  web:\n    image: nginx:1.25\n    deploy:\n      resources:\n"
        "        limits:\n          cpus: many\n",
    ),
    Rule(
        "SC209",
        _E,
        "malformed placement constraint",
        "A placement constraint that is not `key == value` / `key != value` with a known "
        "attribute.",
        "services:\n  web:\n    image: nginx:1.25\n    deploy:\n      placement:\n"
        "        constraints: ['node.role = manager']\n",
    ),
    Rule(
        "SC210",
        _E,
        "mode conflict",
        "Settings that contradict the mode: replicas or max_replicas_per_node with global "
        "mode; `endpoint_mode: dnsrr` with ingress ports.",
        "services:\n  web:\n    image: nginx:1.25\n    deploy:\n      mode: global\n"
        "      replicas: 2\n",
    ),
    Rule(
        "SC211",
        _E,
        "external object with content",
        "An external network, config, secret or volume that also declares content (file, "
        "driver, labels, ...): stackctl neither creates nor changes external objects.",
        "services:\n  web:\n    image: nginx:1.25\n    configs: [app]\n"
        "configs:\n  app:\n    external: true\n    file: ./app.conf\n",
    ),
    Rule(
        "SC212",
        _E,
        "name too long",
        "A name (service, or one derived from the stack name, such as `<stack>_<key>`) "
        "longer than Swarm allows (63/64 characters).",
        None,
    ),
    Rule(
        "SC213",
        _E,
        "malformed port",
        "A short-syntax port that is not `[host_ip:][published:]target[/protocol]`.",
        "services:\n  web:\n    image: nginx:1.25\n    ports: ['80:eighty']\n",
    ),
    Rule(
        "SC214",
        _E,
        "malformed volume",
        "A short-syntax volume that is not `[source:]target[:mode]`.",
        "services:\n  web:\n    image: nginx:1.25\n    volumes: ['a:/b:c:d']\n",
    ),
    Rule(
        "SC215",
        _EW,
        "dependency problem",
        "A `depends_on` cycle or self dependency (error); a dependency on an undefined "
        "service (warning).",
        "services:\n  web:\n    image: nginx:1.25\n    depends_on: [web]\n",
    ),
    Rule(
        "SC216",
        _E,
        "malformed file mode",
        "A config/secret file `mode` that is not an octal permission.",
        None,
    ),
    Rule(
        "SC217",
        _E,
        "healthcheck disabled and defined",
        "A healthcheck with both `disable: true` and `test`.",
        "services:\n  web:\n    image: nginx:1.25\n    healthcheck:\n      disable: true\n"
        "      test: ['CMD', 'true']\n",
    ),
    Rule(
        "SC218",
        _E,
        "ambiguous credential_spec",
        "A credential_spec with more than one source (`config`, `file`, `registry`).",
        None,
    ),
    Rule(
        "SC219",
        _E,
        "unknown restart policy",
        "An unknown legacy `restart:` policy (no, always, on-failure, unless-stopped).",
        "services:\n  web:\n    image: nginx:1.25\n    restart: sometimes\n",
    ),
    Rule(
        "SC220",
        _W,
        "service without image",
        "A service without an image: Swarm cannot build images.",
        None,
    ),
    Rule(
        "SC221",
        _W,
        "config/secret without source",
        "A config or secret with neither `file` nor `external`.",
        None,
    ),
    Rule(
        "SC222",
        _E,
        "invalid network name",
        "A network stackctl creates would not be a valid DNS name component "
        "(`<stack>_<key>` or `name:`, e.g. a key with a dot): the engine refuses it.",
        None,
    ),
    Rule(
        "SC223",
        _E,
        "node-local network driver",
        "A network with a node-local driver (`bridge`, `macvlan`, `ipvlan`, `host`, "
        "`none`): the engine attaches services only to swarm-scoped networks.",
        "services:\n  web:\n    image: nginx:1.25\n    networks: [back]\n"
        "networks:\n  back:\n    driver: bridge\n",
    ),
    Rule(
        "SC224",
        _E,
        "dependency not enabled by profile",
        "A service depends on a service that no active `--profile` enables (docs/stack-files.md).",
        None,
    ),
    Rule(
        "SC225",
        _E,
        "unsupported ignore_changes entry",
        "`x-stackctl.ignore_changes` of a service names something other than "
        "`deploy.replicas` and `image` (docs/diff.md).",
        None,
    ),
    Rule(
        "SC230",
        _E,
        "object file unreadable",
        "A config/secret file cannot be read while the stack is normalized.",
        None,
    ),
    Rule(
        "SC301",
        _W,
        "ignored by Swarm",
        "A key docker stack deploy accepts but Swarm ignores (e.g. `container_name`, "
        "`restart`, `links`).",
        "services:\n  web:\n    image: nginx:1.25\n    container_name: web\n",
    ),
    Rule(
        "SC302",
        _W,
        "port host IP ignored",
        "A host IP in a short-syntax port: Swarm publishes on all addresses.",
        "services:\n  web:\n    image: nginx:1.25\n    ports: ['127.0.0.1:80:80']\n",
    ),
    Rule(
        "SC303",
        _W,
        "deprecated external name",
        "`external: {name: x}` is deprecated; write `external: true` and `name: x`.",
        "services:\n  web:\n    image: nginx:1.25\n    networks: [back]\n"
        "networks:\n  back:\n    external:\n      name: shared\n",
    ),
    Rule(
        "SC304",
        _W,
        "unused network",
        "A network no service joins; it is not created.",
        "services:\n  web:\n    image: nginx:1.25\nnetworks:\n  back: {}\n",
    ),
    Rule(
        "SC305",
        _W,
        "profiles not selected",
        "The file uses profiles and no `--profile` was given: the services with profiles "
        "are not deployed.",
        "services:\n  web:\n    image: nginx:1.25\n  debug:\n    image: nginx:1.25\n"
        "    profiles: [debug]\n",
    ),
    Rule(
        "SC401",
        _EW,
        "placement matches no node",
        "Plan preflight (docs/placement.md): the service's placement constraints match no "
        "node of the cluster (error: its tasks would never start), or only nodes that are "
        "down, drained or paused (warning: they stay pending until one is back). Fix the "
        "constraint or label a node (`docker node update --label-add`).",
    ),
    Rule(
        "SC402",
        _EW,
        "max_replicas_per_node too low",
        "Plan preflight: `max_replicas_per_node` times the nodes the service may run on is "
        "below `replicas`, so some replicas would stay pending. An error when even every "
        "node of the cluster would not be enough, a warning when only nodes that are down, "
        "drained or paused are missing.",
    ),
    Rule(
        "SC403",
        _EW,
        "reservation larger than any node",
        "Plan preflight: the service reserves more CPU or memory per task than any node it "
        "may run on has in total (error), or than any ready node has (warning: only nodes "
        "that are down, drained or paused are large enough). Totals are compared, not what "
        "other tasks leave free.",
    ),
    Rule(
        "SC404",
        _EW,
        "host-mode port taken",
        "Plan preflight: a `mode: host` published port is held by running tasks of another "
        "service on every node the service may run on (error: no task could start), or on "
        "enough of them that some replicas or global tasks would stay pending (warning). A "
        "host-mode port also allows one task per node.",
    ),
)

CATALOGUE: Mapping[str, Rule] = MappingProxyType({rule.code: rule for rule in _RULES})


def rule(code: str) -> Rule | None:
    """The catalogue entry of ``code`` (None: not a catalogued code)."""
    return CATALOGUE.get(code)


def markdown_table() -> str:
    """The finding-code table of docs/validation.md."""
    lines = ["| Code  | Severity | Title | Meaning |", "|-------|----------|-------|---------|"]
    for entry in _RULES:
        meaning = entry.explanation.replace("|", "\\|")
        lines.append(f"| {entry.code} | {entry.severity_text} | {entry.title} | {meaning} |")
    return "\n".join(lines)
