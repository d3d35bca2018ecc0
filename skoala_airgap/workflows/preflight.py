"""Harbor preflight: before anything is written, every Harbor project the plan needs exists (or is created).

Which Harbors: the image registry when it answers Harbor's ``/api/v2.0/systeminfo`` (``containers.kind:
HARBOR`` alone cannot make a plain registry one, so it then only earns a warning); the chart target when
``target.repo.kind`` is HARBOR, or OCI on a host that answers as Harbor. Which projects: the first path
segment of every image's target repository (with ``containerPrefixRegistry`` that is the origin host,
e.g. ``docker.m.daocloud.io``), and the chart project (``/chartrepo/<project>``, or the OCI path's first
segment). ``sync`` checks both sides; ``push-images`` (no chart target, perhaps no config) the image side.

What happens: every project is looked up (``HEAD /api/v2.0/projects?project_name=``). A missing one is
created with ``--auto-create-repository`` (private unless ``--public``); without the flag the run stops
with one line naming the missing projects, exit 2, before any push. For image projects the registry's
token service is asked whether the account may push there, so a robot account without push rights is
named per project before gigabytes move. Credentials refused by Harbor: exit 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from skoala_airgap.connection.credentials import resolve_credentials
from skoala_airgap.connection.settings import ConnectionSettings
from skoala_airgap.destinations.harbor_api import HarborApi, HarborProjectError
from skoala_airgap.destinations.registry import RegistryClient
from skoala_airgap.engine.contract import PushTarget
from skoala_airgap.errors import InputError
from skoala_airgap.relocation.plan import ImageMove, RelocationPlan

if TYPE_CHECKING:  # push-images, the common case, has neither a config nor a chart publisher
    from skoala_airgap.config.model import Config
    from skoala_airgap.destinations.charts.base import ChartPublisher

__all__ = ["ProjectStatus", "harbor_preflight", "image_projects"]

Note = Callable[[str], None]
_REGISTRY_LOGIN = "the registry login (TARGET_CONTAINERS_AUTH_*, target.containers.auth or docker config.json)"
_CHART_LOGIN = "target.repo.auth (or TARGET_REPO_AUTH_USERNAME/PASSWORD)"


@dataclass
class ProjectStatus:
    """One project of one Harbor, as the preflight left it."""

    harbor: str
    project: str
    purpose: str  # "images", "charts" or "images, charts"
    status: str = "pending"  # exists, created, missing
    public: bool | None = None  # for created projects
    example: str = ""  # a repository an image goes to, for the push check

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"harbor": self.harbor, "project": self.project, "for": self.purpose}
        out["status"] = self.status
        if self.public is not None:
            out["public"] = self.public
        return out


@dataclass
class _Harbor:
    api: HarborApi
    projects: dict[str, ProjectStatus] = field(default_factory=dict)

    def need(self, project: str, purpose: str, example: str = "") -> None:
        found = self.projects.get(project)
        if found is None:
            self.projects[project] = ProjectStatus(self.api.base, project, purpose, example=example)
            return
        if purpose not in found.purpose:
            found.purpose = f"{found.purpose}, {purpose}"
        found.example = found.example or example


def image_projects(moves: list[ImageMove]) -> dict[str, str]:
    """project -> one repository that goes there; an :class:`InputError` for a repository without one."""
    out: dict[str, str] = {}
    for move in moves:
        repository = move.target.repository
        project, slash, _ = repository.partition("/")
        if not slash:
            raise InputError(
                f"image {move.source.name} would go to {move.target.name}: Harbor needs <project>/<repository>; "
                "set containerRepository or containerPrefixRepository (or containerPrefixRegistry) to name a project"
            )
        out.setdefault(project, repository)
    return out


def harbor_preflight(
    config: Config | None,
    plan: RelocationPlan,
    moves: list[ImageMove],
    *,
    target: PushTarget | None,
    publisher: ChartPublisher | None,
    connection: ConnectionSettings,
    auto_create: bool,
    public: bool,
    note: Note,
    warn: Note,
) -> list[ProjectStatus]:
    """Check (and with ``auto_create`` create) every Harbor project the run needs; nothing else is written.

    ``config`` (when there is one) only adds the ``containers.kind: HARBOR`` warning; without a
    ``publisher`` (``push-images``) only the image projects are checked.
    """
    harbors: dict[str, _Harbor] = {}
    if isinstance(target, RegistryClient) and moves:
        _image_side(config, target, moves, connection, note, warn, harbors)
    if publisher is not None:
        _chart_side(plan, publisher, connection, note, harbors)
    statuses = [s for h in harbors.values() for s in h.projects.values()]
    if not statuses:
        return []
    try:
        _check(list(harbors.values()), auto_create=auto_create, public=public, note=note)
    finally:
        for harbor in harbors.values():
            harbor.api.close()
    return statuses


def _image_side(
    config: Config | None,
    target: RegistryClient,
    moves: list[ImageMove],
    connection: ConnectionSettings,
    note: Note,
    warn: Note,
    harbors: dict[str, _Harbor],
) -> None:
    credentials = target.auth.credentials  # the ones the client was opened with: a helper runs only once
    auth = (credentials.username, credentials.password) if credentials and credentials.has_password else None
    api = HarborApi(
        f"{target.scheme}://{target.host}", auth=auth, connection=connection, notify=note, who=_REGISTRY_LOGIN
    )
    declared = False  # target.containers.kind: HARBOR in the config, if there is one
    if config is not None and config.target.containers is not None:
        from skoala_airgap.config.model import RepoKind  # already loaded with the config: free here

        declared = config.target.containers.kind is RepoKind.HARBOR
    if api.systeminfo() is None:
        api.close()
        if declared:
            warn(
                f"target.containers.kind is HARBOR, but {target.host} does not answer Harbor's "
                "/api/v2.0/systeminfo: its projects are not checked"
            )
        return
    harbor = harbors.setdefault(api.base, _Harbor(api))
    for project, example in image_projects(moves).items():
        harbor.need(project, "images", example)


def _chart_side(
    plan: RelocationPlan,
    publisher: ChartPublisher,
    connection: ConnectionSettings,
    note: Note,
    harbors: dict[str, _Harbor],
) -> None:
    from skoala_airgap.destinations.charts.harbor import HarborPublisher
    from skoala_airgap.destinations.charts.oci import OciPublisher

    if isinstance(publisher, HarborPublisher):
        base, projects = publisher.base, {publisher.project}
        auth, who = publisher.http.auth, _CHART_LOGIN
    elif isinstance(publisher, OciPublisher):
        client = publisher.client  # opened here (scheme chosen, pinged); check() would open it anyway
        credentials = resolve_credentials(publisher.host, publisher.settings)
        auth = (credentials.username, credentials.password) if credentials and credentials.has_password else None
        base, who = f"{client.scheme}://{publisher.host}", "target.repo.auth (or docker config.json)"
        projects = {publisher.repository(chart.name).split("/", 1)[0] for chart in plan.charts}
    else:
        return
    harbor = harbors.get(base)
    if harbor is None or harbor.api.auth != auth:
        api = HarborApi(base, auth=auth, connection=connection, notify=note, who=who)
        if api.systeminfo() is None:
            api.close()
            return  # not a Harbor (or not reachable as one): the publisher's own check says what is wrong
        harbor = harbors.setdefault(f"{base} charts" if base in harbors else base, _Harbor(api))
    for project in sorted(projects):
        harbor.need(project, "charts")


def _check(harbors: list[_Harbor], *, auto_create: bool, public: bool, note: Note) -> None:
    """Look everything up first; create only when nothing else is wrong; push rights last."""
    problems: list[str] = []
    missing: dict[int, list[ProjectStatus]] = {}
    for number, harbor in enumerate(harbors):
        for status in harbor.projects.values():
            status.status = "exists" if harbor.api.project_exists(status.project) else "missing"
            if status.status == "missing":
                missing.setdefault(number, []).append(status)
        problems += _push_problems(harbor, [s for s in harbor.projects.values() if s.status == "exists"])
    if missing and not auto_create:
        for number, statuses in missing.items():
            names = ", ".join(f"{s.project!r} (for {s.purpose})" for s in statuses)
            problems.append(f"Harbor {harbors[number].api.base}: missing project {names}")
        problems[-1] += (
            "; nothing was pushed: create the projects in Harbor, or add --auto-create-repository to create "
            "them (private; --public makes them public)"
        )
    if problems:
        raise HarborProjectError("; ".join(problems))
    for number, harbor in enumerate(harbors):
        created = []
        for status in missing.get(number, []):
            made = harbor.api.create_project(status.project, public=public)
            status.status, status.public = ("created", public) if made else ("exists", None)
            created.append(status)
            if made:
                kind = "public" if public else "private"
                note(f"Harbor {harbor.api.base}: created {kind} project {status.project!r}")
        problems += _push_problems(harbor, created)
    if problems:
        raise HarborProjectError("; ".join(problems))
    for harbor in harbors:
        version = f" ({harbor.api.version})" if harbor.api.version else ""
        note(f"Harbor {harbor.api.base}{version}: projects ready: {', '.join(sorted(harbor.projects))}")


def _push_problems(harbor: _Harbor, statuses: list[ProjectStatus]) -> list[str]:
    problems = []
    for status in statuses:
        if status.example and harbor.api.push_granted(status.example) is False:
            problems.append(
                f"Harbor {harbor.api.base}: {harbor.api.user} may not push to project {status.project!r} "
                "(needs the developer role or a robot account with push permission there)"
            )
    return problems
