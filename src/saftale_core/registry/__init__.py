"""The registry of bodies and parties: reference data, never logic.

A :class:`Registry` says which bodies exist (SKU, SSG, SAS, ...), which role
each plays in the process, the municipalities and their councils
(``byraad:<municipality>``), the regional council, the clusters (``klynge:*``)
with their hospital unit and member municipalities, and the focus areas.

The registry shipped with the package describes Region Midtjylland for
Sundhedsaftalen 2019-2023 (:meth:`Registry.default`).  Another region, or a
later structure, is a TOML file of the same shape loaded with
:meth:`Registry.from_path`; no code changes.

Ids are canonical ASCII keys.  :meth:`Registry.resolve` also accepts the
Danish spellings, names and aliases (``byraad:Århus``, ``Gødstrupklyngen``)
and returns the canonical id; an id it does not know raises
:class:`~saftale_core.errors.UnknownId` (code ``unknown-body``) naming it.
"""

from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from saftale_core.errors import SaftaleError, UnknownId

__all__ = [
    "COUNCIL_PREFIX",
    "WORKING_GROUP_PREFIX",
    "Body",
    "Cluster",
    "FocusArea",
    "Kind",
    "Municipality",
    "Registry",
    "RegistryError",
    "Role",
]

COUNCIL_PREFIX = "byraad:"
CLUSTER_PREFIX = "klynge:"
WORKING_GROUP_PREFIX = "arbejdsgruppe:"
_COUNCIL_PREFIXES = ("byraad:", "byråd:", "kommunalbestyrelse:")
_WORKING_GROUP_KEY = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_DEFAULT = "midtjylland-2019.toml"


class RegistryError(SaftaleError, ValueError):
    """A registry file is malformed; the message names the entry."""


class Kind(enum.Enum):
    """What kind of party an id is."""

    COMMITTEE = "committee"
    SECRETARIAT = "secretariat"
    ORGANISATION = "organisation"
    NATIONAL_AUTHORITY = "national_authority"
    REGIONAL_COUNCIL = "regional_council"
    MUNICIPAL_COUNCIL = "municipal_council"
    CLUSTER = "cluster"
    WORKING_GROUP = "working_group"

    @property
    def is_council(self) -> bool:
        return self in (Kind.REGIONAL_COUNCIL, Kind.MUNICIPAL_COUNCIL)


class Role(enum.Enum):
    """The roles the process rules name; the registry says which body plays each."""

    COORDINATION_COMMITTEE = "coordination_committee"
    STEERING_GROUP = "steering_group"
    SECRETARIAT = "secretariat"
    PRACTICE_PLAN_COMMITTEE = "practice_plan_committee"
    PATIENT_INVOLVEMENT_COMMITTEE = "patient_involvement_committee"
    REGIONAL_COUNCIL = "regional_council"


@attrs.frozen
class Body:
    """A body or party with a fixed id (committee, secretariat, organisation, council)."""

    id: str
    name: str
    kind: Kind
    name_en: str = ""
    aliases: tuple[str, ...] = ()


@attrs.frozen
class Municipality:
    id: str
    name: str
    aliases: tuple[str, ...] = ()

    @property
    def council(self) -> str:
        """The id of this municipality's council (``byraad:<id>``)."""
        return COUNCIL_PREFIX + self.id


@attrs.frozen
class Cluster:
    """A health cluster (sundhedsklynge): one hospital unit and its municipalities."""

    id: str
    name: str
    hospital_unit: str
    municipalities: tuple[str, ...]
    aliases: tuple[str, ...] = ()


@attrs.frozen
class FocusArea:
    id: str
    name: str
    name_en: str = ""
    aliases: tuple[str, ...] = ()


def _key(text: str) -> str:
    return text.strip().casefold()


def _str(entry: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise RegistryError(f"{where}: {key!r} must be a non-empty string")
    return value


def _strs(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RegistryError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(value)


def _table_list(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise RegistryError(f"[[{key}]] must be a list of tables")
    return value


class Registry:
    """Bodies, councils, clusters and focus areas, with their aliases.

    Build one with :meth:`default`, :meth:`from_path` or :meth:`from_mapping`.
    """

    def __init__(
        self,
        *,
        name: str,
        region: str,
        bodies: Iterable[Body],
        roles: Mapping[Role, str],
        municipalities: Iterable[Municipality],
        clusters: Iterable[Cluster],
        focus_areas: Iterable[FocusArea],
    ) -> None:
        self.name = name
        self.region = region
        self._bodies: dict[str, Body] = {}
        self._aliases: dict[str, str] = {}
        self._municipalities: dict[str, Municipality] = {}
        self._clusters: dict[str, Cluster] = {}
        self._focus: dict[str, FocusArea] = {}
        self._focus_aliases: dict[str, str] = {}
        self._municipality_aliases: dict[str, str] = {}

        for body in bodies:
            self._add_body(body)
        for m in municipalities:
            if m.id in self._municipalities:
                raise RegistryError(f"municipality {m.id!r} is listed twice")
            self._municipalities[m.id] = m
            for alias in (m.id, m.name, *m.aliases):
                self._municipality_aliases[_key(alias)] = m.id
            self._add_body(
                Body(
                    m.council,
                    f"{m.name} Byråd",
                    Kind.MUNICIPAL_COUNCIL,
                    f"Municipal council of {m.name}",
                )
            )
        for c in clusters:
            if not c.id.startswith(CLUSTER_PREFIX):
                raise RegistryError(
                    f"cluster {c.id!r}: a cluster id starts with {CLUSTER_PREFIX!r}"
                )
            for mid in c.municipalities:
                if mid not in self._municipalities:
                    raise RegistryError(f"cluster {c.id!r}: unknown municipality {mid!r}")
            self._clusters[c.id] = c
            self._add_body(
                Body(
                    c.id,
                    c.name,
                    Kind.CLUSTER,
                    aliases=(
                        c.name,
                        *c.aliases,
                        *(
                            CLUSTER_PREFIX + a
                            for a in c.aliases
                            if not a.startswith(CLUSTER_PREFIX)
                        ),
                    ),
                )
            )
        for f in focus_areas:
            if f.id in self._focus:
                raise RegistryError(f"focus area {f.id!r} is listed twice")
            self._focus[f.id] = f
            for alias in (f.id, f.name, *f.aliases):
                self._focus_aliases[_key(alias)] = f.id

        self._roles: dict[Role, str] = {}
        for role in Role:
            if role not in roles:
                raise RegistryError(f"[roles]: no body plays the role {role.value!r}")
            body_id = roles[role]
            if body_id not in self._bodies:
                raise RegistryError(f"[roles]: {role.value} = {body_id!r} is not a body")
            self._roles[role] = body_id
        regional = self._roles[Role.REGIONAL_COUNCIL]
        if self._bodies[regional].kind is not Kind.REGIONAL_COUNCIL:
            raise RegistryError(
                f"[roles]: regional_council = {regional!r} is not the regional council"
            )
        self._councils = (regional, *(m.council for m in self._municipalities.values()))
        self._councils_for: dict[str, tuple[str, ...]] = {}

    def _add_body(self, body: Body) -> None:
        if body.id in self._bodies:
            raise RegistryError(f"id {body.id!r} is listed twice")
        self._bodies[body.id] = body
        for alias in (body.id, body.name, *body.aliases):
            known = self._aliases.setdefault(_key(alias), body.id)
            if known != body.id:
                raise RegistryError(f"alias {alias!r} names both {known!r} and {body.id!r}")

    # -- construction -------------------------------------------------------

    @classmethod
    def default(cls) -> Registry:
        """The shipped registry: Region Midtjylland, Sundhedsaftalen 2019-2023."""
        return _default_registry()

    @classmethod
    def from_path(cls, path: str | Path) -> Registry:
        """Load a registry from a TOML file of the shipped file's shape."""
        p = Path(path)
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise RegistryError(f"{p}: cannot read the registry file: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise RegistryError(f"{p}: not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise RegistryError(
                f"{p}: not a registry file: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
        try:
            return cls.from_mapping(data)
        except RegistryError as exc:
            raise RegistryError(f"{p}: {exc}") from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Registry:
        """Build a registry from the parsed contents of a registry file."""
        meta = data.get("registry", {})
        if not isinstance(meta, dict):
            raise RegistryError("[registry] must be a table")
        roles_raw = data.get("roles", {})
        if not isinstance(roles_raw, dict):
            raise RegistryError("[roles] must be a table")
        roles: dict[Role, str] = {}
        for key, value in roles_raw.items():
            try:
                role = Role(key)
            except ValueError:
                raise RegistryError(f"[roles]: unknown role {key!r}") from None
            if not isinstance(value, str):
                raise RegistryError(f"[roles]: {key} must name a body id")
            roles[role] = value
        bodies = []
        for i, b in enumerate(_table_list(data, "bodies")):
            where = f"[[bodies]] #{i + 1}"
            try:
                kind = Kind(_str(b, "kind", where))
            except ValueError:
                raise RegistryError(f"{where}: unknown kind {b.get('kind')!r}") from None
            if kind in (Kind.CLUSTER, Kind.MUNICIPAL_COUNCIL, Kind.REGIONAL_COUNCIL):
                raise RegistryError(f"{where}: {kind.value} entries have tables of their own")
            bodies.append(
                Body(
                    _str(b, "id", where),
                    _str(b, "name", where),
                    kind,
                    b.get("name_en", ""),
                    _strs(b, "aliases", where),
                )
            )
        rc = data.get("regional_council")
        if not isinstance(rc, dict):
            raise RegistryError("[regional_council] is missing")
        bodies.append(
            Body(
                _str(rc, "id", "[regional_council]"),
                _str(rc, "name", "[regional_council]"),
                Kind.REGIONAL_COUNCIL,
                rc.get("name_en", ""),
                _strs(rc, "aliases", "[regional_council]"),
            )
        )
        municipalities = [
            Municipality(
                _str(m, "id", f"[[municipalities]] #{i + 1}"),
                _str(m, "name", f"[[municipalities]] #{i + 1}"),
                _strs(m, "aliases", f"[[municipalities]] #{i + 1}"),
            )
            for i, m in enumerate(_table_list(data, "municipalities"))
        ]
        clusters = [
            Cluster(
                _str(c, "id", f"[[clusters]] #{i + 1}"),
                _str(c, "name", f"[[clusters]] #{i + 1}"),
                _str(c, "hospital_unit", f"[[clusters]] #{i + 1}"),
                _strs(c, "municipalities", f"[[clusters]] #{i + 1}"),
                _strs(c, "aliases", f"[[clusters]] #{i + 1}"),
            )
            for i, c in enumerate(_table_list(data, "clusters"))
        ]
        focus = [
            FocusArea(
                _str(f, "id", f"[[focus_areas]] #{i + 1}"),
                _str(f, "name", f"[[focus_areas]] #{i + 1}"),
                f.get("name_en", ""),
                _strs(f, "aliases", f"[[focus_areas]] #{i + 1}"),
            )
            for i, f in enumerate(_table_list(data, "focus_areas"))
        ]
        return cls(
            name=str(meta.get("name", "unnamed registry")),
            region=str(meta.get("region", "")),
            bodies=bodies,
            roles=roles,
            municipalities=municipalities,
            clusters=clusters,
            focus_areas=focus,
        )

    # -- queries --------------------------------------------------------------

    def resolve(self, ident: str) -> str:
        """The canonical id for an id, a Danish spelling or an alias.

        Working groups (``arbejdsgruppe:<key>``) are created by the process,
        not listed here: any well-formed one resolves to itself.
        """
        if not isinstance(ident, str):
            raise UnknownId(repr(ident), f"an id must be a string, not {type(ident).__name__}")
        key = _key(ident)
        found = self._aliases.get(key)
        if found is not None:
            return found
        for prefix in _COUNCIL_PREFIXES:
            if key.startswith(prefix):
                mid = self._municipality_aliases.get(key[len(prefix) :].strip())
                if mid is not None:
                    return COUNCIL_PREFIX + mid
                raise UnknownId(
                    ident,
                    f"{ident!r} is not in the registry: "
                    f"no municipality {ident[len(prefix) :]!r} in {self.region or self.name}",
                )
        if key.startswith(WORKING_GROUP_PREFIX):
            if _WORKING_GROUP_KEY.fullmatch(key[len(WORKING_GROUP_PREFIX) :]):
                return key
            raise UnknownId(
                ident,
                f"{ident!r} is not a working-group id: use "
                f"'{WORKING_GROUP_PREFIX}<key>' with a lower-case ASCII key",
            )
        raise UnknownId(ident)

    def kind(self, ident: str) -> Kind:
        """The kind of a canonical id (see :meth:`resolve`)."""
        body = self._bodies.get(ident)
        if body is not None:
            return body.kind
        if ident.startswith(WORKING_GROUP_PREFIX):
            return Kind.WORKING_GROUP
        raise UnknownId(ident)

    def is_known(self, ident: str) -> bool:
        try:
            self.resolve(ident)
        except UnknownId:
            return False
        return True

    def role(self, role: Role) -> str:
        """The id of the body that plays ``role``."""
        return self._roles[role]

    @property
    def roles(self) -> Mapping[Role, str]:
        return MappingProxyType(self._roles)

    def body(self, ident: str) -> Body:
        """The body with this canonical id (working groups are not listed)."""
        try:
            return self._bodies[ident]
        except KeyError:
            raise UnknownId(ident) from None

    @property
    def bodies(self) -> Mapping[str, Body]:
        """Every listed body, council and cluster by id."""
        return MappingProxyType(self._bodies)

    def name_of(self, ident: str) -> str:
        """The Danish name of an id (the id itself for a working group)."""
        body = self._bodies.get(ident)
        return body.name if body else ident

    @property
    def municipalities(self) -> Mapping[str, Municipality]:
        return MappingProxyType(self._municipalities)

    @property
    def clusters(self) -> Mapping[str, Cluster]:
        return MappingProxyType(self._clusters)

    def cluster(self, ident: str) -> Cluster:
        """The cluster with this id or alias; ``unknown-body`` if it is not a cluster."""
        canonical = self.resolve(ident)
        try:
            return self._clusters[canonical]
        except KeyError:
            raise UnknownId(ident, f"{ident!r} is not a cluster") from None

    @property
    def councils(self) -> tuple[str, ...]:
        """Every council that approves for its party: the regional council, then the byråd."""
        return self._councils

    def councils_for(self, cluster: str) -> tuple[str, ...]:
        """The councils whose approval a cluster needs before implementing."""
        found = self._councils_for.get(cluster)
        if found is None:
            c = self.cluster(cluster)
            found = (
                self._roles[Role.REGIONAL_COUNCIL],
                *(COUNCIL_PREFIX + m for m in c.municipalities),
            )
            if len(self._councils_for) < 10_000:  # keyed by what callers pass: bounded
                self._councils_for[cluster] = found
        return found

    @property
    def focus_areas(self) -> Mapping[str, FocusArea]:
        return MappingProxyType(self._focus)

    def resolve_focus_area(self, ident: str) -> str | None:
        """The canonical id of a focus area, or ``None`` when it is not one."""
        return self._focus_aliases.get(_key(ident))


_cache: dict[str, Registry] = {}


def _default_registry() -> Registry:
    reg = _cache.get(_DEFAULT)
    if reg is None:
        text = (
            resources.files("saftale_core.registry").joinpath("data", _DEFAULT).read_text("utf-8")
        )
        reg = Registry.from_mapping(tomllib.loads(text))
        _cache[_DEFAULT] = reg
    return reg
